// The catalogues the simulation draws from: territories, communes, names,
// associations, conventions, referral sources, reasons, topics, weights.

#ifndef RELAIS_TOOLS_GENERATE_CATALOGUES_H_
#define RELAIS_TOOLS_GENERATE_CATALOGUES_H_

#include <array>
#include <iterator>

#include "generate/rng.h"

namespace relais::tools::gen {

// Everything below is invented, except commune names (public geography).

inline constexpr std::array<const char*, 3> kTerritories = {"lille", "sud", "flandres"};
inline constexpr std::array<int, 3> kTerritoryWeights = {50, 30, 20};

struct Commune {
  const char* name;
  const char* code;  // used in dwelling ids
  int territory;
  int weight;
};

inline constexpr Commune kCommunes[] = {
    {"Lille", "LIL", 0, 30},
    {"Roubaix", "RBX", 0, 20},
    {"Tourcoing", "TCG", 0, 18},
    {"Villeneuve-d'Ascq", "VDA", 0, 8},
    {"Wattrelos", "WAT", 0, 8},
    {"Hem", "HEM", 0, 4},
    {"Croix", "CRX", 0, 4},
    {"Loos", "LOO", 0, 4},
    {"Mons-en-Barœul", "MEB", 0, 4},
    {"Douai", "DOU", 1, 15},
    {"Valenciennes", "VAL", 1, 15},
    {"Cambrai", "CAM", 1, 12},
    {"Maubeuge", "MAU", 1, 12},
    {"Denain", "DEN", 1, 12},
    {"Anzin", "ANZ", 1, 6},
    {"Sin-le-Noble", "SLN", 1, 6},
    {"Caudry", "CAU", 1, 5},
    {"Hautmont", "HTM", 1, 5},
    {"Condé-sur-l'Escaut", "CSE", 1, 5},
    {"Dunkerque", "DKQ", 2, 30},
    {"Grande-Synthe", "GSY", 2, 15},
    {"Hazebrouck", "HAZ", 2, 12},
    {"Armentières", "ARM", 2, 12},
    {"Bailleul", "BAI", 2, 8},
    {"Coudekerque-Branche", "CBR", 2, 10},
    {"Gravelines", "GRA", 2, 6},
};
inline constexpr int kCommuneCount = static_cast<int>(std::size(kCommunes));

inline constexpr const char* kFirstNames[] = {
    "Camille", "Dominique", "Claude", "Alex",   "Sacha",  "Morgan", "Charlie", "Lou",
    "Noa",     "Eden",      "Andréa", "Maxime", "Jordan", "Inès",   "Yanis",   "Nadia",
};
inline constexpr const char* kLastNames[] = {
    "Exemple", "Fictif",   "Modèle",    "Essai",    "Témoin",   "Démo",
    "Factice", "Spécimen", "Prototype", "Maquette", "Synthèse", "Placebo",
};

// Associations per territory (index 3: those working department-wide).
inline constexpr std::array<std::array<const char*, 3>, 4> kAssociations = {{
    {"Association Exemple Habitat Métropole", "Relais Fictif de l'Agglomération",
     "Toit Modèle Roubaix-Tourcoing"},
    {"Entraide Exemple du Hainaut", "Passerelle Fictive du Douaisis", "Abri Modèle de la Sambre"},
    {"Toit Exemple des Flandres", "Relais Fictif du Littoral", "Foyer Modèle de la Lys"},
    {"AES Exemple du Nord", "Solidarité Prototype Nord", "Habitat Témoin 59"},
}};

inline constexpr const char* kConventions[] = {
    "Convention AES Exemple",
    "Convention Logement d'abord (exemple)",
    "Contingent préfectoral (exemple)",
    "Convention bail glissant Exemple",
};

// Referral sources of the access track (realistic mix for the Nord programme).
inline constexpr Choice kAccessSources[] = {
    {"siao", 34},      {"dalo", 10},       {"pdalhpd", 6}, {"chrs", 15},
    {"epsm", 8},       {"spip", 7},        {"epdsae", 5},  {"insalubrity", 4},
    {"travellers", 2}, {"association", 5}, {"other", 4},
};
inline constexpr Choice kMaintienSources[] = {{"agency", 75}, {"association", 15}, {"other", 10}};

inline constexpr const char* kRefusalReasons[] = {
    "Situation ne relevant pas du dispositif",
    "Ressources insuffisantes à ce stade",
    "Ménage orienté vers un autre dispositif",
    "Absence d'adhésion à l'accompagnement",
};
inline constexpr const char* kExpiryReasons[] = {
    "Pas de retour du ménage après relances",
    "Dossier incomplet au terme du délai",
    "Ménage injoignable",
};
inline constexpr const char* kNonAttributionReasons[] = {
    "Typologie inadaptée à la composition familiale",
    "Taux d'effort trop élevé",
    "Autre candidat retenu en rang 1",
    "Logement inadapté aux besoins de mobilité",
};
inline constexpr const char* kInadmissibleReasons[] = {
    "Dossier incomplet",
    "Plafond de ressources dépassé",
    "Demande de logement non renouvelée",
};
inline constexpr const char* kConditions[] = {
    "Ouverture des droits APL",
    "Mise en place d'une mesure ASLL",
    "Justificatif de ressources à fournir",
    "Signature du contrat d'accompagnement",
};
inline constexpr const char* kOfferRefusals[] = {
    "Logement trop éloigné des écoles",
    "Étage élevé sans ascenseur",
    "Quartier refusé par le ménage",
    "Loyer jugé trop élevé par le ménage",
};
inline constexpr const char* kResumeReasons[] = {
    "Nouvelles difficultés budgétaires", "Demande du ménage",
    "Signalement du bailleur",           "Rupture de droits",
    "Troubles du voisinage signalés",
};
inline constexpr const char* kReviewNotes[] = {
    "Budget tenu, démarches administratives en cours.",
    "Logement bien approprié, lien avec le voisinage correct.",
    "Retard dans l'ouverture des droits, relance faite auprès de la CAF.",
    "Rendez-vous manqué, nouvelle visite à domicile programmée.",
    "Dossier de surendettement déposé.",
    "Inscription à une formation, recherche d'emploi active.",
    "Suivi médical repris, lien avec le CMP établi.",
    "Entretien du logement à améliorer, visite conjointe avec le bailleur.",
    "Scolarité des enfants stabilisée.",
    "Plan d'apurement respecté depuis trois mois.",
};
inline constexpr const char* kCorrectionReasons[] = {
    "Erreur de saisie",
    "Correction après vérification du dossier",
    "Donnée mise à jour d'après le justificatif",
    "Date erronée",
};
inline constexpr const char* kRetractionReasons[] = {
    "Saisi dans le mauvais dossier",
    "Doublon d'un signalement déjà enregistré",
    "Signalement non confirmé",
};
inline constexpr const char* kTrainingTopics[] = {
    "Approche des publics en difficulté",
    "Repérage des troubles psychiques",
    "Prévention des expulsions locatives",
    "Le bail glissant en pratique",
    "Accès aux droits et FSL",
    "Logement d'abord : principes et outils",
};
inline constexpr const char* kConsultationTopics[] = {
    "Charges locatives",
    "Travaux de réhabilitation",
    "Cadre de vie et tranquillité",
    "Accueil des nouveaux locataires",
};
inline constexpr const char* kTenantAssociations[] = {
    "Amicale des locataires Exemple",
    "Collectif fictif des habitants",
    "Association Modèle de locataires",
};
inline constexpr const char* kPartners[] = {
    "CCAS",
    "CAF du Nord",
    "SIAO",
    "EPSM",
    "SPIP",
    "Département du Nord",
    "AES Exemple du Nord",
    "Commission CCAPEX",
    "Mission locale",
};
inline constexpr const char* kMeetingTopics[] = {
    "Commission de suivi des situations complexes",
    "Bilan trimestriel du dispositif",
    "Coordination santé mentale et logement",
    "Sorties d'institutions",
    "Prévention des expulsions",
};

inline constexpr Choice kAccessKinds[] = {
    {"asll", 35},         {"avdl", 15}, {"global", 20}, {"gla", 12}, {"chrs_hors_les_murs", 8},
    {"housing_first", 10}};
inline constexpr Choice kMaintienKinds[] = {{"avdl", 45}, {"asll", 35}, {"global", 20}};
inline constexpr Choice kDomains[] = {{"budget", 25}, {"housing", 25},    {"rights", 15},
                                      {"health", 10}, {"employment", 10}, {"parenting", 8},
                                      {"social", 7}};
inline constexpr Choice kCloseReasons[] = {{"objectives_met", 35},
                                           {"handed_to_mainstream", 25},
                                           {"non_engagement", 15},
                                           {"end_of_funding", 15},
                                           {"other", 10}};
inline constexpr Choice kPauseReasons[] = {
    {"hospitalisation", 40}, {"incarceration", 10}, {"household_request", 35}, {"other", 15}};
inline constexpr Choice kDifficulties[] = {{"neighbourhood", 25},
                                           {"dwelling_upkeep", 25},
                                           {"mental_health", 20},
                                           {"isolation", 20},
                                           {"other", 10}};
inline constexpr Choice kPriorityBases[] = {
    {"collective_agreement", 50}, {"syplo", 30}, {"pdalhpd", 20}};
inline constexpr const char* kObjectiveStatuses[] = {"not_started", "in_progress", "achieved",
                                                     "abandoned"};
inline constexpr std::array<int, 6> kTypologyRentCents = {29000, 36000, 43000, 50000, 57000, 63000};

inline constexpr const char* kTerritorySubjects[] = {"territory/lille", "territory/sud",
                                                     "territory/flandres"};

}  // namespace relais::tools::gen

#endif  // RELAIS_TOOLS_GENERATE_CATALOGUES_H_
