// The French label catalogue (labels.h): every word a French page shows for
// a name of the contract. One table per kind of name, below; nothing else in
// the code base holds French words for contract names.
//
// Words are chosen for the household reading its own file (and for a judge
// reading a tenancy record): plain French, acronyms spelt out once where the
// household meets them in its own papers (CAL, FSL, CCAPEX, DALO).
#include "relais/projections/labels.h"

#include <array>
#include <cstdio>
#include <string>
#include <unordered_map>

#include "relais/types.h"

namespace relais::labels {

namespace {

struct Entry {
  std::string_view key;
  std::string_view fr;
};

// ---------------------------------------------------------------------------
// Event types (events.md §3, lifecycle.md §1).

constexpr Entry kEventTypes[] = {
    {"HouseholdRegistered", "Inscription du ménage"},
    {"ConsentRecorded", "Accord du ménage enregistré"},
    {"HouseholdReferred", "Orientation du ménage vers le dispositif"},
    {"ReferralDecided", "Décision sur l'orientation"},
    {"PriorityRecognised", "Priorité reconnue pour un logement"},
    {"CalApplicationFiled", "Dossier présenté à la commission d'attribution des logements"},
    {"CalDecisionRecorded", "Décision de la commission d'attribution des logements"},
    {"CalConditionResolved", "Suite donnée à la condition posée par la commission"},
    {"OfferAnswered", "Réponse à la proposition de logement"},
    {"OccupancyStarted", "Entrée dans le logement"},
    {"SlideReviewHeld", "Bilan avant le passage du bail au nom du ménage"},
    {"LeaseSwitched", "Bail passé au nom du ménage"},
    {"OccupancyEnded", "Départ du logement"},
    {"SupportStarted", "Début de l'accompagnement"},
    {"ObjectivesSet", "Objectifs fixés ensemble"},
    {"SituationReviewed", "Point sur la situation"},
    {"SupportPaused", "Accompagnement mis en pause"},
    {"SupportUnpaused", "Fin de la pause de l'accompagnement"},
    {"SupportClosed", "Fin de l'accompagnement"},
    {"SupportResumed", "Reprise de l'accompagnement"},
    {"ArrearsAlertRaised", "Alerte de loyers impayés"},
    {"RepaymentPlanAgreed", "Plan de remboursement de la dette de loyer"},
    {"FslAidDecided", "Décision d'aide du Fonds de solidarité pour le logement"},
    {"CcapexReferred", "Dossier transmis à la commission de prévention des expulsions"},
    {"ArrearsCleared", "Dette de loyer remboursée"},
    {"EvictionStepRecorded", "Étape de la procédure d'expulsion"},
    {"DifficultyReported", "Difficulté signalée"},
    {"CaseTransferred", "Dossier confié à un autre territoire"},
    {"DwellingRegistered", "Enregistrement du logement"},
    {"DwellingReserved", "Logement réservé"},
    {"DwellingReservationEnded", "Fin de la réservation du logement"},
    {"StaffTrainingHeld", "Formation des équipes"},
    {"TenantConsultationHeld", "Concertation avec les locataires"},
    {"PartnerMeetingHeld", "Réunion avec les partenaires"},
    {"EventCorrected", "Correction"},
    {"EventRetracted", "Annulation"},
    {"PersonalDataErased", "Effacement des données personnelles"},
};

// ---------------------------------------------------------------------------
// Fields: the general label of each JSON name, then the ones that read
// differently for one event type ("Type.field").

constexpr Entry kFields[] = {
    // The envelope.
    {"id", "identifiant"},
    {"type", "nature de l'information"},
    {"subject", "dossier"},
    {"effectiveDate", "date des faits"},
    {"recordedAt", "enregistré le"},
    {"actor", "enregistré par"},
    {"role", "fonction"},
    {"org", "organisme"},
    {"data", "informations"},
    {"position", "numéro d'ordre dans le journal"},
    {"version", "numéro d'ordre dans le dossier"},
    {"hash", "empreinte de contrôle"},
    {"prevHash", "empreinte de contrôle précédente"},
    {"correctedBy", "corrigé par"},
    {"retractedBy", "annulé par"},
    {"personalDataErased", "données personnelles effacées"},
    // Household events.
    {"territory", "territoire"},
    {"commune", "commune"},
    {"adults", "nombre d'adultes"},
    {"children", "nombre d'enfants"},
    {"headOfHousehold", "personne de référence du ménage"},
    {"name", "nom"},
    {"birthDate", "date de naissance"},
    {"purpose", "objet de l'accord"},
    {"given", "accord donné"},
    {"referralId", "numéro de l'orientation"},
    {"track", "objectif de l'orientation"},
    {"source", "service qui a orienté"},
    {"referrer", "personne ou service qui a orienté"},
    {"outcome", "résultat"},
    {"reason", "motif"},
    {"basis", "fondement de la priorité"},
    {"offerDeadline", "date limite pour recevoir une proposition de logement"},
    {"dwellingId", "logement"},
    {"sessionDate", "date de la commission"},
    {"decision", "décision"},
    {"rank", "rang sur la liste"},
    {"condition", "condition à remplir"},
    {"conditionDeadline", "date limite pour remplir la condition"},
    {"met", "condition remplie"},
    {"answer", "réponse"},
    {"contract", "type de contrat"},
    {"association", "association"},
    {"rentCents", "loyer mensuel"},
    {"preexisting", "déjà dans le logement avant le suivi"},
    {"nextReviewDate", "date du prochain bilan"},
    {"to", "nouveau contrat"},
    {"destination", "où le ménage est allé"},
    {"episodeId", "numéro de l'accompagnement"},
    {"kind", "type d'accompagnement"},
    {"objectives", "objectifs"},
    {"objectiveId", "numéro de l'objectif"},
    {"domain", "domaine"},
    {"dueDate", "échéance"},
    {"progress", "avancement des objectifs"},
    {"status", "état"},
    {"notes", "notes"},
    {"previousEpisodeId", "accompagnement repris"},
    {"amountCents", "montant"},
    {"monthsUnpaid", "nombre de mois impayés"},
    {"monthlyCents", "montant de chaque mensualité"},
    {"months", "nombre de mois"},
    {"granted", "aide accordée"},
    {"step", "étape"},
    {"hearingDate", "date de l'audience"},
    {"category", "nature de la difficulté"},
    {"severity", "gravité (de 1, faible, à 3, forte)"},
    // Dwelling and territory events.
    {"typology", "taille du logement"},
    {"adaptations", "aménagements du logement"},
    {"convention", "convention de réservation"},
    {"topic", "thème"},
    {"attendees", "nombre de participants"},
    {"tenantAssociation", "association de locataires"},
    {"participants", "nombre de participants"},
    {"partners", "partenaires présents"},
    // Corrections and retractions.
    {"targetId", "information concernée"},
    // Status (events.md §5, lifecycle.md §1).
    {"registered", "inscrit"},
    {"referrals", "orientations"},
    {"occupancy", "logement occupé"},
    {"since", "depuis le"},
    {"episodes", "accompagnements"},
    {"startedOn", "commencé le"},
    {"closedOn", "terminé le"},
    {"arrears", "dette de loyer"},
    {"open", "en cours"},
    {"supportInPlace", "accompagnement social en place"},
    {"procedureStage", "procédure d'expulsion"},
    {"consents", "accords donnés"},
    {"support", "accord pour être accompagné"},
    {"dataSharing", "accord pour partager les informations de santé"},
    {"keepHistory", "accord pour garder le dossier après l'accompagnement"},
    {"erased", "données personnelles effacées"},
    {"reserved", "réservé"},
    {"occupancies", "occupations du logement"},
    {"household", "ménage"},
    {"start", "entrée le"},
    {"end", "départ le"},
    {"contracts", "contrats successifs"},
    {"from", "à partir du"},
    {"endReason", "motif du départ"},
    // The household's file and retention (lifecycle.md §2-§3).
    {"knownAt", "état des informations au"},
    {"logPosition", "numéro d'ordre du journal"},
    {"logHash", "empreinte de contrôle du journal"},
    {"events", "informations enregistrées"},
    {"accessLog", "consultations du dossier"},
    {"at", "le"},
    {"endpoint", "moyen de consultation"},
    {"allowed", "consultation autorisée"},
    {"lastContact", "dernier contact"},
    {"dueOn", "à effacer à partir du"},
    // Per type.
    {"HouseholdRegistered.territory", "territoire de suivi"},
    {"CaseTransferred.territory", "nouveau territoire de suivi"},
    {"ReferralDecided.reason", "motif de la décision"},
    {"CalDecisionRecorded.reason", "motif de la décision"},
    {"OfferAnswered.reason", "motif de la réponse"},
    {"SupportResumed.reason", "motif de la reprise"},
    {"SlideReviewHeld.outcome", "avis"},
    {"OccupancyEnded.reason", "motif du départ"},
    {"SupportPaused.reason", "motif de la pause"},
    {"SupportClosed.reason", "motif de la fin"},
    {"ArrearsAlertRaised.amountCents", "montant de la dette"},
    {"FslAidDecided.amountCents", "montant de l'aide"},
    {"SituationReviewed.nextReviewDate", "date du prochain point"},
    {"OccupancyStarted.association", "association qui loue ou héberge"},
    {"SupportStarted.association", "association qui accompagne"},
    {"EventCorrected.effectiveDate", "date des faits corrigée"},
    {"EventCorrected.data", "informations corrigées"},
    {"EventCorrected.reason", "motif de la correction"},
    {"EventRetracted.reason", "motif de l'annulation"},
    {"PersonalDataErased.reason", "motif de l'effacement"},
};

// ---------------------------------------------------------------------------
// Enum values, "Enum.value" with the value's JSON spelling. Also the status
// values that are not schema enums (ReferralStatus, EpisodeStatus,
// ProcedureStage) and the booleans (Bool).

constexpr Entry kValues[] = {
    {"Territory.lille", "Lille"},
    {"Territory.sud", "Sud"},
    {"Territory.flandres", "Flandres"},
    {"Typology.T1", "une pièce (T1)"},
    {"Typology.T2", "deux pièces (T2)"},
    {"Typology.T3", "trois pièces (T3)"},
    {"Typology.T4", "quatre pièces (T4)"},
    {"Typology.T5", "cinq pièces (T5)"},
    {"Typology.T6", "six pièces ou plus (T6)"},
    {"Adaptation.wheelchair", "accessible en fauteuil roulant"},
    {"Adaptation.inclusive", "logement inclusif"},
    {"Adaptation.ground_floor", "en rez-de-chaussée"},
    {"ConsentPurpose.support", "être accompagné"},
    {"ConsentPurpose.data_sharing", "partager les informations de santé avec les partenaires"},
    {"ConsentPurpose.keep_history", "garder le dossier pour une reprise éventuelle"},
    {"Track.access", "accéder à un logement"},
    {"Track.maintien", "rester dans son logement"},
    {"ReferralSource.siao", "service intégré d'accueil et d'orientation (SIAO)"},
    {"ReferralSource.dalo", "commission du droit au logement opposable (DALO)"},
    {"ReferralSource.pdalhpd", "plan départemental pour le logement des personnes défavorisées"},
    {"ReferralSource.chrs", "centre d'hébergement et de réinsertion sociale (CHRS)"},
    {"ReferralSource.epsm", "établissement public de santé mentale (EPSM)"},
    {"ReferralSource.spip", "service pénitentiaire d'insertion et de probation (SPIP)"},
    {"ReferralSource.epdsae", "service de protection de l'enfance (EPDSAE)"},
    {"ReferralSource.insalubrity", "lutte contre l'habitat insalubre"},
    {"ReferralSource.travellers", "accueil des gens du voyage"},
    {"ReferralSource.agency", "agence du bailleur"},
    {"ReferralSource.association", "une association"},
    {"ReferralSource.other", "autre service"},
    {"ReferralOutcome.accepted", "acceptée"},
    {"ReferralOutcome.refused", "refusée"},
    {"ReferralOutcome.expired", "sans suite (délai dépassé)"},
    {"PriorityBasis.dalo", "reconnu prioritaire au titre du droit au logement opposable"},
    {"PriorityBasis.pdalhpd", "public prioritaire du plan départemental"},
    {"PriorityBasis.collective_agreement", "accord collectif départemental"},
    {"PriorityBasis.syplo", "contingent de logements du préfet"},
    {"CalDecision.attribution", "logement attribué"},
    {"CalDecision.attribution_ranked", "logement attribué, avec un rang sur la liste"},
    {"CalDecision.attribution_conditional", "logement attribué sous condition"},
    {"CalDecision.non_attribution", "logement non attribué"},
    {"CalDecision.inadmissible", "demande non recevable"},
    {"OfferAnswer.accepted", "proposition acceptée"},
    {"OfferAnswer.refused", "proposition refusée"},
    {"OfferAnswer.no_answer", "pas de réponse"},
    {"Contract.hosting", "hébergement par une association"},
    {"Contract.sublease", "sous-location par une association (bail glissant)"},
    {"Contract.direct_lease", "bail au nom du ménage"},
    {"LeaseTarget.direct_lease", "bail au nom du ménage"},
    {"SlideOutcome.favourable", "favorable"},
    {"SlideOutcome.unfavourable", "défavorable"},
    {"SlideOutcome.postponed", "reporté"},
    {"EndReason.voluntary_departure", "départ choisi par le ménage"},
    {"EndReason.transfer", "changement de logement chez le même bailleur"},
    {"EndReason.rehoused", "relogement ailleurs"},
    {"EndReason.eviction", "expulsion"},
    {"EndReason.death", "décès"},
    {"EndReason.abandonment", "logement abandonné"},
    {"EndReason.institution", "entrée en établissement"},
    {"Destination.permanent", "un logement durable"},
    {"Destination.temporary", "une solution provisoire"},
    {"Destination.institutional", "un établissement"},
    {"Destination.unknown", "destination inconnue"},
    {"SupportKind.asll", "accompagnement social lié au logement"},
    {"SupportKind.avdl", "accompagnement vers et dans le logement"},
    {"SupportKind.global", "accompagnement global"},
    {"SupportKind.gla", "gestion locative adaptée"},
    {"SupportKind.chrs_hors_les_murs", "accompagnement d'un centre d'hébergement, à domicile"},
    {"SupportKind.housing_first", "« Logement d'abord » (un chez-soi d'abord)"},
    {"ObjectiveDomain.budget", "budget"},
    {"ObjectiveDomain.housing", "logement"},
    {"ObjectiveDomain.rights", "accès aux droits"},
    {"ObjectiveDomain.health", "santé"},
    {"ObjectiveDomain.employment", "emploi"},
    {"ObjectiveDomain.parenting", "rôle de parent"},
    {"ObjectiveDomain.social", "vie sociale"},
    {"ObjectiveStatus.not_started", "pas encore commencé"},
    {"ObjectiveStatus.in_progress", "en cours"},
    {"ObjectiveStatus.achieved", "atteint"},
    {"ObjectiveStatus.abandoned", "abandonné"},
    {"PauseReason.hospitalisation", "hospitalisation"},
    {"PauseReason.incarceration", "incarcération"},
    {"PauseReason.household_request", "à la demande du ménage"},
    {"PauseReason.other", "autre motif"},
    {"CloseReason.objectives_met", "objectifs atteints"},
    {"CloseReason.handed_to_mainstream", "relais pris par les services sociaux habituels"},
    {"CloseReason.non_engagement", "le ménage ne souhaitait plus être accompagné"},
    {"CloseReason.moved_out", "départ du logement"},
    {"CloseReason.end_of_funding", "fin du financement"},
    {"CloseReason.death", "décès"},
    {"CloseReason.other", "autre motif"},
    {"EvictionStep.payment_order", "commandement de payer"},
    {"EvictionStep.summons", "convocation au tribunal (assignation)"},
    {"EvictionStep.judgment_delays", "jugement accordant des délais de paiement"},
    {"EvictionStep.judgment_rejected", "demande d'expulsion rejetée par le juge"},
    {"EvictionStep.judgment_termination", "jugement mettant fin au bail"},
    {"EvictionStep.order_to_leave", "commandement de quitter le logement"},
    {"EvictionStep.police_requested", "demande d'aide de la police pour l'expulsion"},
    {"EvictionStep.police_granted", "aide de la police accordée"},
    {"EvictionStep.police_refused", "aide de la police refusée"},
    {"EvictionStep.eviction_carried_out", "expulsion réalisée"},
    {"EvictionStep.cohesion_protocol_signed", "accord signé pour rester dans le logement (protocole)"},
    {"DifficultyCategory.neighbourhood", "relations de voisinage"},
    {"DifficultyCategory.dwelling_upkeep", "entretien du logement"},
    {"DifficultyCategory.mental_health", "santé psychique"},
    {"DifficultyCategory.isolation", "isolement"},
    {"DifficultyCategory.other", "autre difficulté"},
    {"Role.admin", "administration de relais"},
    {"Role.coordinator", "coordination du territoire"},
    {"Role.social_worker", "travailleur social"},
    {"Role.tenancy_staff", "gestion locative du bailleur"},
    {"Role.evaluator", "évaluation du programme"},
    {"Role.auditor", "contrôle"},
    {"StreamKind.household", "ménage"},
    {"StreamKind.dwelling", "logement"},
    {"StreamKind.territory", "territoire"},
    {"StreamKind.any", "tout dossier"},
    {"Visibility.management", "gestion du logement"},
    {"Visibility.social", "accompagnement social"},
    {"Visibility.health", "santé"},
    {"ErasureReason.subject_request", "à la demande du ménage"},
    {"ErasureReason.retention_expired", "fin de la durée de conservation"},
    {"ErasureReason.legal_obligation", "obligation légale"},
    {"ErasureReason.other", "autre motif"},
    // Status values (events.md §5) that the schema does not declare.
    {"ReferralStatus.open", "en cours d'examen"},
    {"ReferralStatus.accepted", "acceptée"},
    {"ReferralStatus.refused", "refusée"},
    {"ReferralStatus.expired", "sans suite"},
    {"EpisodeStatus.active", "en cours"},
    {"EpisodeStatus.paused", "en pause"},
    {"EpisodeStatus.closed", "terminé"},
    {"ProcedureStage.none", "aucune procédure"},
    {"ProcedureStage.payment_order", "commandement de payer reçu"},
    {"ProcedureStage.summons", "convocation au tribunal"},
    {"ProcedureStage.judgment_termination", "bail résilié par le juge"},
    {"ProcedureStage.order_to_leave", "commandement de quitter le logement reçu"},
    {"ProcedureStage.police_requested", "aide de la police demandée"},
    {"ProcedureStage.police_granted", "aide de la police accordée"},
    {"ProcedureStage.police_refused", "aide de la police refusée"},
    {"ProcedureStage.closed", "procédure terminée"},
    {"Bool.true", "oui"},
    {"Bool.false", "non"},
    // What needs action in a caseload (projections/caseload.h).
    {"CaseloadAction.situation_review_overdue",
     "bilan de situation de plus de 182 jours (ou aucun depuis le début de l'accompagnement)"},
    {"CaseloadAction.slide_review_missing",
     "sous-location depuis plus de 18 mois sans bilan de glissement favorable"},
    {"CaseloadAction.ccapex_referral_missing",
     "impayé signalé depuis plus de deux mois sans saisine de la CCAPEX"},
    {"CaseloadAction.conditional_decision_overdue",
     "décision CAL sous condition dont l'échéance est passée sans levée de la condition"},
};

// ---------------------------------------------------------------------------
// Refusal codes (events.md §2-§4, interfaces.md §3, lifecycle.md §1).

constexpr Entry kRefusalCodes[] = {
    {"malformed", "l'information est incomplète ou mal écrite"},
    {"id_conflict", "une autre information porte déjà ce numéro"},
    {"version_conflict", "le dossier a changé entre-temps"},
    {"recorded_at_regression", "la date d'enregistrement est antérieure à la précédente"},
    {"recorded_at_in_future", "la date d'enregistrement est dans le futur"},
    {"effective_date_in_future", "la date des faits est dans le futur"},
    {"stream_too_long", "le dossier a atteint sa taille maximale"},
    {"already_registered", "déjà inscrit"},
    {"not_registered", "pas encore inscrit"},
    {"duplicate_referral", "cette orientation existe déjà"},
    {"referral_already_open", "une orientation du même type est déjà en cours"},
    {"referral_not_open", "l'orientation n'est plus en cours"},
    {"reason_required", "le motif doit être donné"},
    {"referral_not_accepted", "l'orientation n'a pas été acceptée pour l'accès à un logement"},
    {"dwelling_not_registered", "le logement n'était pas encore enregistré à cette date"},
    {"application_pending", "un dossier attend déjà la décision de la commission"},
    {"no_pending_application", "aucun dossier n'attend la décision de la commission"},
    {"rank_required", "le rang doit être donné"},
    {"condition_required", "la condition et sa date limite doivent être données"},
    {"no_conditional_decision", "aucune attribution sous condition n'attend de suite"},
    {"condition_deadline_passed", "la date limite de la condition est dépassée"},
    {"no_positive_decision", "aucune attribution n'attend de réponse pour ce logement"},
    {"already_housed", "le ménage occupe déjà un logement"},
    {"dwelling_occupied", "le logement est occupé par un autre ménage à ces dates"},
    {"offer_not_accepted", "aucune proposition acceptée pour ce logement"},
    {"association_required", "l'association doit être nommée"},
    {"not_a_sublease", "le ménage n'est pas en sous-location ou hébergé"},
    {"no_active_occupancy", "le ménage n'occupe pas ce logement"},
    {"no_favourable_review", "aucun bilan favorable avant le passage du bail"},
    {"consent_required", "le ménage n'a pas donné son accord pour être accompagné"},
    {"duplicate_episode", "cet accompagnement existe déjà"},
    {"episode_already_active", "un accompagnement du même type est déjà en cours"},
    {"episode_not_active", "l'accompagnement n'est pas en cours"},
    {"duplicate_objective", "cet objectif existe déjà"},
    {"unknown_objective", "cet objectif n'a pas été fixé"},
    {"episode_not_paused", "l'accompagnement n'est pas en pause"},
    {"episode_not_closed", "l'accompagnement précédent n'est pas terminé"},
    {"arrears_already_open", "une alerte d'impayés est déjà en cours"},
    {"no_open_arrears", "aucune dette de loyer en cours"},
    {"step_out_of_order", "cette étape ne peut pas suivre la précédente"},
    {"ccapex_notice_too_short",
     "la commission de prévention des expulsions n'a pas été saisie deux mois avant"},
    {"winter_truce", "aucune expulsion du 1er novembre au 31 mars (trêve hivernale)"},
    {"already_reserved", "le logement est déjà réservé"},
    {"not_reserved", "le logement n'est pas réservé"},
    {"target_not_found", "l'information à corriger n'existe pas ou a été annulée"},
    {"correction_breaks_rules", "la correction rendrait le dossier incohérent"},
    {"household_erased", "les données personnelles de ce ménage ont été effacées"},
};

// ---------------------------------------------------------------------------
// Roles (interfaces.md §1 and §3). The same words as Value("Role", ...), plus
// `metrics`, which is a token role but not an actor's.

constexpr Entry kRoles[] = {
    {"admin", "administration de relais"},
    {"coordinator", "coordination du territoire"},
    {"social_worker", "travailleur social"},
    {"tenancy_staff", "gestion locative du bailleur"},
    {"evaluator", "évaluation du programme"},
    {"auditor", "contrôle"},
    {"metrics", "supervision technique"},
};

// ---------------------------------------------------------------------------
// The endpoints of the access journal (tools/server), as a household reads
// them in the list of who consulted its file.

constexpr Entry kEndpoints[] = {
    {"/v1/streams/status", "consultation de la situation"},
    {"/v1/streams/events", "consultation de l'historique"},
    {"/v1/streams/file", "consultation du dossier complet"},
    {"/v1/streams/tenancy", "consultation du dossier de location"},
    {"/v1/streams/evidence", "consultation des preuves d'intégrité"},
    {"/v1/feed", "suivi en direct des enregistrements"},
    {"/v1/caseload", "consultation de la liste des ménages suivis du territoire"},
    {"/v1/export", "extraction anonymisée pour l'évaluation"},
    {"/v1/backup", "sauvegarde"},
    {"relais file", "dossier remis au ménage"},
};

// ---------------------------------------------------------------------------
// Indicators (time-and-indicators.md §4), by their dotted report key. The
// rows of the page carry its definition in one French sentence; their parts
// name what they count. The per-value keys (bySource.siao, calDecisions.x,
// byReason.x, closedByReason.x) are read from the enum tables (IndicatorLabel).

struct IndicatorEntry {
  std::string_view key;
  std::string_view label;
  std::string_view definition;
};

constexpr IndicatorEntry kIndicators[] = {
    {"householdsRegistered", "Ménages inscrits",
     "Nombre de ménages inscrits à la date de référence."},
    {"referralsReceived", "Orientations reçues",
     "Orientations reçues pendant l'année écoulée, par objectif et par service qui oriente."},
    {"referralsReceived.access", "Orientations pour accéder à un logement", ""},
    {"referralsReceived.maintien", "Orientations pour rester dans son logement", ""},
    {"referralsReceived.bySource", "Orientations par service qui oriente", ""},
    {"householdsSupported", "Ménages accompagnés",
     "Ménages distincts ayant eu au moins un accompagnement pendant l'année écoulée, selon "
     "l'objectif de leur dernière orientation (objectif annuel : 40 à 45 pour l'accès, 250 "
     "pour le maintien)."},
    {"householdsSupported.access", "Ménages accompagnés pour accéder à un logement", ""},
    {"householdsSupported.maintien", "Ménages accompagnés pour rester dans leur logement", ""},
    {"householdsSupported.unreferred", "Ménages accompagnés sans orientation", ""},
    {"activeSupportAtDate", "Accompagnements en cours",
     "Ménages ayant au moins un accompagnement en cours, hors pause, à la date de référence."},
    {"calDecisions", "Décisions de la commission d'attribution",
     "Décisions de la commission d'attribution des logements rendues pendant l'année écoulée, "
     "par type de décision."},
    {"moveIns", "Entrées dans un logement",
     "Entrées dans un logement pendant l'année écoulée, hors ménages déjà en place."},
    {"medianDaysReferralToMoveIn", "Délai médian de l'orientation à l'entrée (jours)",
     "Nombre médian de jours entre l'orientation et l'entrée dans le logement obtenu grâce à "
     "elle, pour les entrées de l'année écoulée."},
    {"leaseSwitches", "Baux passés au nom du ménage",
     "Passages d'une sous-location ou d'un hébergement à un bail au nom du ménage pendant "
     "l'année écoulée."},
    {"medianDaysToSwitch", "Délai médian avant le passage du bail (jours)",
     "Nombre médian de jours entre l'entrée dans le logement et le passage du bail au nom du "
     "ménage, pour les passages de l'année écoulée."},
    {"retention12m", "Maintien dans le logement à un an",
     "Part des ménages entrés il y a un à deux ans qui sont restés au moins un an dans leur "
     "logement ou en sont partis vers un logement durable (décès exclus)."},
    {"retention12m.cohort", "Ménages entrés concernés", ""},
    {"retention12m.retained", "Ménages restés ou relogés durablement", ""},
    {"retention12m.rate", "Taux de maintien à un an", ""},
    {"exits", "Départs du logement",
     "Départs du logement pendant l'année écoulée, par motif, et part des départs vers un "
     "logement durable (décès exclus)."},
    {"exits.total", "Nombre de départs", ""},
    {"exits.byReason", "Départs par motif", ""},
    {"exits.toPermanentRate", "Part des départs vers un logement durable", ""},
    {"arrears", "Loyers impayés",
     "Ménages ayant une dette de loyer en cours à la date de référence, alertes d'impayés "
     "levées et dettes remboursées pendant l'année écoulée."},
    {"arrears.openAtDate", "Dettes de loyer en cours", ""},
    {"arrears.alertsRaised", "Alertes d'impayés", ""},
    {"arrears.cleared", "Dettes remboursées", ""},
    {"evictions", "Expulsions",
     "Expulsions réalisées pendant l'année écoulée, et part des ménages ayant reçu un "
     "commandement de payer il y a un à deux ans qui n'ont pas été expulsés dans l'année qui "
     "a suivi."},
    {"evictions.carriedOut", "Expulsions réalisées", ""},
    {"evictions.avoided", "Expulsions évitées", ""},
    {"evictions.avoided.cohort", "Commandements de payer concernés", ""},
    {"evictions.avoided.avoided", "Ménages non expulsés dans l'année", ""},
    {"evictions.avoided.rate", "Taux d'expulsions évitées", ""},
    {"support", "Accompagnements",
     "Accompagnements terminés pendant l'année écoulée, leur durée, leurs reprises, la "
     "régularité des points de situation et les objectifs atteints."},
    {"support.closed", "Accompagnements terminés",
     "Accompagnements terminés pendant l'année écoulée, par motif."},
    {"support.closedByReason", "Accompagnements terminés par motif", ""},
    {"support.medianDays", "Durée médiane d'un accompagnement (jours)",
     "Nombre médian de jours entre le début et la fin des accompagnements terminés pendant "
     "l'année écoulée, jours de pause déduits."},
    {"support.resumption", "Reprises d'accompagnement",
     "Part des accompagnements terminés il y a un à deux ans qui ont été repris dans l'année "
     "suivant leur fin."},
    {"support.resumption.cohort", "Accompagnements terminés concernés", ""},
    {"support.resumption.resumed", "Accompagnements repris", ""},
    {"support.resumption.rate", "Taux de reprise", ""},
    {"support.reviewCompliance", "Régularité des points de situation",
     "Part des accompagnements en cours depuis plus de six mois qui ont eu un point de "
     "situation dans les six derniers mois."},
    {"support.reviewCompliance.cohort", "Accompagnements de plus de six mois", ""},
    {"support.reviewCompliance.compliant", "Accompagnements avec un point récent", ""},
    {"support.reviewCompliance.rate", "Taux de régularité", ""},
    {"support.objectives", "Objectifs atteints",
     "Part des objectifs des accompagnements terminés pendant l'année écoulée qui ont été "
     "atteints."},
    {"support.objectives.total", "Objectifs fixés", ""},
    {"support.objectives.achieved", "Objectifs atteints", ""},
    {"support.objectives.rate", "Taux d'objectifs atteints", ""},
    {"platform", "Activité de la plateforme",
     "Formations des équipes (et leurs participants), concertations avec les locataires et "
     "réunions avec les partenaires tenues pendant l'année écoulée."},
    {"platform.staffTrainings", "Formations des équipes", ""},
    {"platform.attendees", "Participants aux formations", ""},
    {"platform.tenantConsultations", "Concertations avec les locataires", ""},
    {"platform.partnerMeetings", "Réunions avec les partenaires", ""},
};

// The other words of the evaluator's report page (report_html.cc), by key:
// sections, column heads, units, the programme's targets, charts and their
// axes, the footer. labels_test reads report_html.cc for every key it uses.
constexpr Entry kReportTexts[] = {
    {"title", "Indicateurs d'évaluation au"},
    {"intro.period", "Période observée : du"},
    {"intro.to", "au"},
    {"intro.knownAt", "Informations connues au"},
    {"intro.wholeLog",
     "Informations connues : tout ce que le journal contenait quand le rapport a été produit"},
    {"intro.howToRead",
     "Les nombres sont des effectifs ; les taux sont donnés en pourcentage, avec dessous leur "
     "numérateur et leur dénominateur ; les durées sont des médianes, en jours. Un tiret signifie "
     "qu'il n'y a rien à mesurer (aucun cas, ou un dénominateur nul)."},
    {"section.demand", "Demande"},
    {"section.allocation", "Attribution des logements"},
    {"section.housing", "Logement et bail"},
    {"section.support", "Accompagnement"},
    {"section.arrears", "Impayés et expulsions"},
    {"section.platform", "Activité de la plateforme"},
    {"section.charts", "Évolution mois par mois"},
    {"section.charts.intro", "Les vingt-quatre mois jusqu'au"},
    {"section.verify", "Pour vérifier ce rapport"},
    {"column.indicator", "Indicateur"},
    {"column.target", "Objectif annuel du programme"},
    {"territory.all", "Ensemble"},
    {"unit.day", "jour"},
    {"unit.days", "jours"},
    {"value.none", "–"},
    {"rate.of", "sur"},
    {"target.range", "{min} à {max} ménages par an"},
    {"target.single", "{n} ménages par an"},
    {"target.below", "ensemble en deçà de l'objectif"},
    {"target.within", "ensemble dans l'objectif"},
    {"target.above", "ensemble au-delà de l'objectif"},
    {"target.source",
     "Objectifs annuels du programme, pour l'ensemble des territoires : 40 à 45 ménages "
     "accompagnés pour accéder à un logement et 250 pour s'y maintenir (définition des "
     "indicateurs du programme, ménages accompagnés)."},
    {"chart.supported", "Ménages accompagnés, par objectif de l'orientation"},
    {"chart.arrears", "Ménages ayant une dette de loyer en cours, par territoire"},
    {"chart.moves", "Entrées dans un logement et baux passés au nom du ménage (ensemble)"},
    {"chart.evictions", "Expulsions réalisées et procédures closes sans expulsion (ensemble)"},
    {"chart.evictions.note",
     "« Closes sans expulsion » compte, chaque mois, les procédures d'expulsion terminées sans "
     "expulsion : délais accordés par le juge, demande rejetée ou protocole de cohésion sociale "
     "signé."},
    {"series.access", "accès"},
    {"series.maintien", "maintien"},
    {"series.unreferred", "sans orientation"},
    {"series.moveIns", "entrées"},
    {"series.leaseSwitches", "baux au nom du ménage"},
    {"series.carriedOut", "expulsions réalisées"},
    {"series.avoided", "closes sans expulsion"},
    {"axis.month", "Mois"},
    {"axis.households", "Nombre de ménages"},
    {"axis.count", "Nombre par mois"},
    {"month.01", "janv."},
    {"month.02", "févr."},
    {"month.03", "mars"},
    {"month.04", "avr."},
    {"month.05", "mai"},
    {"month.06", "juin"},
    {"month.07", "juil."},
    {"month.08", "août"},
    {"month.09", "sept."},
    {"month.10", "oct."},
    {"month.11", "nov."},
    {"month.12", "déc."},
    {"footer.position", "Position dans le journal"},
    {"footer.hash", "Empreinte de la chaîne à cette position"},
    {"footer.command", "Commande qui reproduit ces chiffres"},
    {"footer.commandNote",
     "à lancer sur le répertoire de données de l'installation. Pour pouvoir vérifier ces chiffres "
     "plus tard, enregistrer le même rapport au format JSON, puis le vérifier :"},
    {"footer.notPinnable",
     "D'autres événements ont été enregistrés au même instant que le dernier de cette vue : "
     "seule la vérification du rapport JSON reproduit exactement cette vue."},
    {"footer.checkpoint", "Point de contrôle signé du journal à cette position"},
    {"footer.noCheckpoint", "Aucun point de contrôle signé n'existe encore pour ce journal."},
    {"footer.generated", "Produit par relais à partir du journal des événements."},
};

// Per-value indicator keys: "<prefix>.<value>" reads Value(enum, value).
struct ValueIndicator {
  std::string_view prefix;
  std::string_view enum_name;
};
constexpr ValueIndicator kValueIndicators[] = {
    {"referralsReceived.bySource.", "ReferralSource"},
    {"calDecisions.", "CalDecision"},
    {"exits.byReason.", "EndReason"},
    {"support.closedByReason.", "CloseReason"},
};

using Map = std::unordered_map<std::string_view, std::string_view>;

template <size_t N>
Map MakeMap(const Entry (&entries)[N]) {
  Map m;
  m.reserve(N);
  for (const Entry& e : entries) m.emplace(e.key, e.fr);
  return m;
}

// Built once, on first use (thread-safe static initialisation), then only read.
const Map& EventTypes() {
  static const Map m = MakeMap(kEventTypes);
  return m;
}
const Map& Fields() {
  static const Map m = MakeMap(kFields);
  return m;
}
const Map& Values() {
  static const Map m = MakeMap(kValues);
  return m;
}
// Value spelling -> a label, for an enum the catalogue does not know by name
// (the first entry with that spelling wins).
const Map& ValuesBySpelling() {
  static const Map m = [] {
    Map out;
    for (const Entry& e : kValues) {
      size_t dot = e.key.find('.');
      out.emplace(e.key.substr(dot + 1), e.fr);
    }
    return out;
  }();
  return m;
}
const Map& RefusalCodes() {
  static const Map m = MakeMap(kRefusalCodes);
  return m;
}
const Map& Roles() {
  static const Map m = MakeMap(kRoles);
  return m;
}

const Map& ReportTexts() {
  static const Map m = MakeMap(kReportTexts);
  return m;
}

const Map& Endpoints() {
  static const Map m = MakeMap(kEndpoints);
  return m;
}

const IndicatorEntry* FindIndicator(std::string_view key) {
  static const auto m = [] {
    std::unordered_map<std::string_view, const IndicatorEntry*> out;
    for (const IndicatorEntry& e : kIndicators) out.emplace(e.key, &e);
    return out;
  }();
  auto it = m.find(key);
  return it == m.end() ? nullptr : it->second;
}

const std::string_view* Find(const Map& m, std::string_view key) {
  auto it = m.find(key);
  return it == m.end() ? nullptr : &it->second;
}

// The "Enum.value" / "Type.field" key of the tables.
std::string Join(std::string_view a, std::string_view b) {
  std::string k;
  k.reserve(a.size() + 1 + b.size());
  k.append(a).append(".").append(b);
  return k;
}

constexpr std::array<std::string_view, 12> kMonths = {
    "janvier", "février", "mars",      "avril",   "mai",      "juin",
    "juillet", "août",    "septembre", "octobre", "novembre", "décembre"};

std::string DateWords(int year, int month, int day) {
  std::string out = day == 1 ? "1er" : std::to_string(day);
  out += ' ';
  out += kMonths[static_cast<size_t>(month - 1)];
  out += ' ';
  out += std::to_string(year);
  return out;
}

}  // namespace

std::string_view EventType(std::string_view type) {
  const std::string_view* fr = Find(EventTypes(), type);
  return fr ? *fr : type;
}

std::string_view Field(std::string_view type, std::string_view field) {
  if (!type.empty()) {
    if (const std::string_view* fr = Find(Fields(), Join(type, field))) return *fr;
  }
  const std::string_view* fr = Find(Fields(), field);
  return fr ? *fr : field;
}

std::string_view Value(std::string_view enum_name, std::string_view value) {
  if (const std::string_view* fr = Find(Values(), Join(enum_name, value))) return *fr;
  const std::string_view* fr = Find(ValuesBySpelling(), value);
  return fr ? *fr : value;
}

std::string_view RefusalCode(std::string_view code) {
  const std::string_view* fr = Find(RefusalCodes(), code);
  return fr ? *fr : code;
}

std::string_view Role(std::string_view role) {
  const std::string_view* fr = Find(Roles(), role);
  return fr ? *fr : role;
}

std::string_view Endpoint(std::string_view endpoint) {
  const std::string_view* fr = Find(Endpoints(), endpoint);
  return fr ? *fr : "autre consultation";
}

Indicator IndicatorLabel(std::string_view key) {
  if (const IndicatorEntry* e = FindIndicator(key)) return {e->label, e->definition};
  for (const ValueIndicator& v : kValueIndicators) {
    if (key.substr(0, v.prefix.size()) != v.prefix) continue;
    std::string_view value = key.substr(v.prefix.size());
    if (!HasValue(v.enum_name, value)) break;
    std::string_view parent = v.prefix.substr(0, v.prefix.size() - 1);
    const IndicatorEntry* p = FindIndicator(parent);
    return {Value(v.enum_name, value), p ? p->definition : std::string_view()};
  }
  return {key, ""};
}

std::string_view ReportText(std::string_view key) {
  const std::string_view* fr = Find(ReportTexts(), key);
  return fr ? *fr : key;
}

bool HasEventType(std::string_view type) { return Find(EventTypes(), type) != nullptr; }
bool HasField(std::string_view field) { return Find(Fields(), field) != nullptr; }
bool HasValue(std::string_view enum_name, std::string_view value) {
  return Find(Values(), Join(enum_name, value)) != nullptr;
}
namespace {
template <size_t N>
Entries ToEntries(const Entry (&entries)[N]) {
  Entries out;
  out.reserve(N);
  for (const Entry& e : entries) out.emplace_back(e.key, e.fr);
  return out;
}
}  // namespace

const Entries& AllRefusalCodes() {
  static const Entries e = ToEntries(kRefusalCodes);
  return e;
}
const Entries& AllValues() {
  static const Entries e = ToEntries(kValues);
  return e;
}
const Entries& AllFields() {
  static const Entries e = ToEntries(kFields);
  return e;
}
const Entries& AllRoles() {
  static const Entries e = ToEntries(kRoles);
  return e;
}

bool HasRefusalCode(std::string_view code) { return Find(RefusalCodes(), code) != nullptr; }
bool HasRole(std::string_view role) { return Find(Roles(), role) != nullptr; }
bool HasReportText(std::string_view key) { return Find(ReportTexts(), key) != nullptr; }
bool HasEndpoint(std::string_view endpoint) { return Find(Endpoints(), endpoint) != nullptr; }
bool HasIndicator(std::string_view key) {
  Indicator i = IndicatorLabel(key);
  return i.label != key;
}
bool HasIndicatorDefinition(std::string_view key) {
  const IndicatorEntry* e = FindIndicator(key);
  return e != nullptr && !e->definition.empty();
}

std::string_view Bool(bool b) { return Value("Bool", b ? "true" : "false"); }

std::string Money(int64_t cents) {
  bool negative = cents < 0;
  // The magnitude as unsigned, so INT64_MIN does not overflow.
  uint64_t u = negative ? 0 - static_cast<uint64_t>(cents) : static_cast<uint64_t>(cents);
  std::string euros = std::to_string(u / 100);
  // Thousands separated by a narrow no-break space, as French typography does.
  std::string grouped;
  for (size_t i = 0; i < euros.size(); ++i) {
    if (i > 0 && (euros.size() - i) % 3 == 0) grouped += "\u202f";
    grouped += euros[i];
  }
  char frac[4];
  std::snprintf(frac, sizeof frac, "%02u", static_cast<unsigned>(u % 100));
  return (negative ? "-" : "") + grouped + "," + frac + "\u00a0€";
}

std::string FrenchDate(std::string_view iso) {
  if (iso.size() < 10) return std::string(iso);
  std::optional<Date> d = ParseDate(iso.substr(0, 10));
  if (!d) return std::string(iso);
  int y = 0, m = 0, day = 0;
  if (iso.size() == 10) {
    CivilFromDate(*d, &y, &m, &day);
    return DateWords(y, m, day);
  }
  std::optional<Timestamp> t = ParseTimestamp(iso);
  if (!t) return std::string(iso);
  CivilFromDate(UtcDate(*t), &y, &m, &day);
  int64_t micros_of_day = t->micros % (86400LL * 1000000);
  if (micros_of_day < 0) micros_of_day += 86400LL * 1000000;
  int64_t minutes = micros_of_day / (60LL * 1000000);
  char hm[32];
  std::snprintf(hm, sizeof hm, " à %02d h %02d (UTC)", static_cast<int>(minutes / 60),
                static_cast<int>(minutes % 60));
  return DateWords(y, m, day) + hm;
}

}  // namespace relais::labels
