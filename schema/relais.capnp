# relais stored format, contract v1.
#
# This file is the single source of truth for the shape of a case event: the JSON
# codec (engine/src/codec/) walks these declarations by reflection, so adding a
# field here is all it takes for it to be accepted, validated, stored and printed.
#
# Evolution rules (Cap'n Proto's): new fields take new ordinals, ordinals never
# change, retired fields are deprecated (renamed `obsoleteX`), never reused. The
# golden-bytes test (tests/schema/golden_test.cc) fails on any accidental change
# of the stored encoding.
#
# JSON naming: a field's JSON key is its Cap'n Proto name. An enumerant's JSON
# value is its name in snake_case (`dataSharing` -> "data_sharing") unless a
# `$Json.name` annotation says otherwise. An event type's JSON name is its union
# member name with the first letter upper-cased.

@0xa60f11d1258e7169;

using Cxx = import "/capnp/c++.capnp";
using Json = import "/capnp/compat/json.capnp";
$Cxx.namespace("relais::schema");

# ---------------------------------------------------------------------------
# Validation annotations, read by the codec.

annotation optional @0xb0c1a7e4d2f30001 (field) :Void;
# The field may be absent. Every field without it is required on input.
# An absent scalar keeps the schema default, which must be a value the field
# cannot legally take (kNoDate, -1, 0 for a count >= 1): that is how presence
# survives in the stored struct.

annotation min @0xb0c1a7e4d2f30002 (field) :Int64;
annotation max @0xb0c1a7e4d2f30003 (field) :Int64;
# Inclusive bounds of an integer field.

annotation minItems @0xb0c1a7e4d2f30004 (field) :UInt32;
annotation maxItems @0xb0c1a7e4d2f30005 (field) :UInt32;

annotation date @0xb0c1a7e4d2f30006 (field) :Void;
# An Int32 holding days since 1970-01-01; JSON "YYYY-MM-DD".

annotation uuid @0xb0c1a7e4d2f30007 (field) :Void;
# A 16-byte Data; JSON lowercase canonical UUID text.

annotation bareId @0xb0c1a7e4d2f30008 (field) :Void;
# Text matching [A-Za-z0-9_-]{1,64}: the id of another stream, without prefix.

annotation personal @0xb0c1a7e4d2f30009 (field) :Void;
# Personal data (events.md §1). On a household stream it is stored sealed under
# the household's data key; the public struct keeps only its presence.

annotation requiredIf @0xb0c1a7e4d2f3000a (field) :RequiredIf;
struct RequiredIf {
  # The field is required when sibling `field` has the enum value `value` (JSON name).
  field @0 :Text;
  value @1 :Text;
}

annotation correctionData @0xb0c1a7e4d2f3000b (field) :Void;
# EventCorrected.data: a partial object of the *target's* type, decoded once the
# target is known (engine/src/writer.cc).

annotation hidden @0xb0c1a7e4d2f3000c (field) :Void;
# Bookkeeping field: never read from nor written to JSON.

enum StreamKind { household @0; dwelling @1; territory @2; any @3; }
annotation stream @0xb0c1a7e4d2f3000d (field) :StreamKind;
# On an EventData member: the kind of stream the event type belongs to.

enum Visibility { management @0; social @1; health @2; }
annotation visibility @0xb0c1a7e4d2f3000e (field) :Visibility;
# On an EventData member: its visibility class (events.md §3). Corrections and
# retractions take their target's class; DifficultyReported is `health` when its
# category is mental_health.

const kNoDate :Int32 = -2147483648;
const kTextBytesMax :UInt32 = 4096;

# ---------------------------------------------------------------------------
# Enumerations (JSON values in snake_case).

enum Territory { lille @0; sud @1; flandres @2; }
enum Typology {
  t1 @0 $Json.name("T1"); t2 @1 $Json.name("T2"); t3 @2 $Json.name("T3");
  t4 @3 $Json.name("T4"); t5 @4 $Json.name("T5"); t6 @5 $Json.name("T6");
}
enum Adaptation { wheelchair @0; inclusive @1; groundFloor @2; }
enum ConsentPurpose { support @0; dataSharing @1; keepHistory @2; }
enum Track { access @0; maintien @1; }
enum ReferralSource {
  siao @0; dalo @1; pdalhpd @2; chrs @3; epsm @4; spip @5; epdsae @6;
  insalubrity @7; travellers @8; agency @9; association @10; other @11;
}
enum ReferralOutcome { accepted @0; refused @1; expired @2; }
enum PriorityBasis { dalo @0; pdalhpd @1; collectiveAgreement @2; syplo @3; }
enum CalDecision {
  attribution @0; attributionRanked @1; attributionConditional @2;
  nonAttribution @3; inadmissible @4;
}
enum OfferAnswer { accepted @0; refused @1; noAnswer @2; }
enum Contract { hosting @0; sublease @1; directLease @2; }
enum LeaseTarget { directLease @0; }
enum SlideOutcome { favourable @0; unfavourable @1; postponed @2; }
enum EndReason {
  voluntaryDeparture @0; transfer @1; rehoused @2; eviction @3; death @4;
  abandonment @5; institution @6;
}
enum Destination { permanent @0; temporary @1; institutional @2; unknown @3; }
enum SupportKind { asll @0; avdl @1; global @2; gla @3; chrsHorsLesMurs @4; housingFirst @5; }
enum ObjectiveDomain { budget @0; housing @1; rights @2; health @3; employment @4; parenting @5; social @6; }
enum ObjectiveStatus { notStarted @0; inProgress @1; achieved @2; abandoned @3; }
enum PauseReason { hospitalisation @0; incarceration @1; householdRequest @2; other @3; }
enum CloseReason {
  objectivesMet @0; handedToMainstream @1; nonEngagement @2; movedOut @3;
  endOfFunding @4; death @5; other @6;
}
enum EvictionStep {
  paymentOrder @0; summons @1; judgmentDelays @2; judgmentRejected @3;
  judgmentTermination @4; orderToLeave @5; policeRequested @6; policeGranted @7;
  policeRefused @8; evictionCarriedOut @9; cohesionProtocolSigned @10;
}
enum DifficultyCategory { neighbourhood @0; dwellingUpkeep @1; mentalHealth @2; isolation @3; other @4; }
enum Role { admin @0; coordinator @1; socialWorker @2; tenancyStaff @3; evaluator @4; auditor @5; }

# ---------------------------------------------------------------------------
# Household stream.

struct Person {
  name @0 :Text;
  birthDate @1 :Int32 $date;
}

struct HouseholdRegistered {
  territory @0 :Territory;
  commune @1 :Text;
  adults @2 :Int32 $min(1);
  children @3 :Int32 $min(0);
  headOfHousehold @4 :Person $personal;
}

struct ConsentRecorded {
  purpose @0 :ConsentPurpose;
  given @1 :Bool;
}

struct HouseholdReferred {
  referralId @0 :Text;
  track @1 :Track;
  source @2 :ReferralSource;
  referrer @3 :Text $personal;
}

struct ReferralDecided {
  referralId @0 :Text;
  outcome @1 :ReferralOutcome;
  reason @2 :Text $optional $personal;
}

struct PriorityRecognised {
  basis @0 :PriorityBasis;
  offerDeadline @1 :Int32 = .kNoDate $date $optional;
}

struct CalApplicationFiled {
  referralId @0 :Text;
  dwellingId @1 :Text $bareId;
  sessionDate @2 :Int32 $date;
}

struct CalDecisionRecorded {
  referralId @0 :Text;
  dwellingId @1 :Text $bareId;
  decision @2 :CalDecision;
  rank @3 :Int32 $min(1) $optional;
  condition @4 :Text $optional $personal;
  conditionDeadline @5 :Int32 = .kNoDate $date $optional;
  reason @6 :Text $optional $personal;
}

struct CalConditionResolved {
  dwellingId @0 :Text $bareId;
  met @1 :Bool;
}

struct OfferAnswered {
  dwellingId @0 :Text $bareId;
  answer @1 :OfferAnswer;
  reason @2 :Text $optional $personal;
}

struct OccupancyStarted {
  dwellingId @0 :Text $bareId;
  contract @1 :Contract;
  association @2 :Text $optional;
  rentCents @3 :Int64 $min(0);
  preexisting @4 :Bool $optional;
}

struct SlideReviewHeld {
  outcome @0 :SlideOutcome;
  nextReviewDate @1 :Int32 = .kNoDate $date $optional;
}

struct LeaseSwitched {
  dwellingId @0 :Text $bareId;
  to @1 :LeaseTarget;
}

struct OccupancyEnded {
  dwellingId @0 :Text $bareId;
  reason @1 :EndReason;
  destination @2 :Destination;
}

struct SupportStarted {
  episodeId @0 :Text;
  kind @1 :SupportKind;
  association @2 :Text;
}

struct Objective {
  objectiveId @0 :Text;
  domain @1 :ObjectiveDomain;
  dueDate @2 :Int32 = .kNoDate $date $optional;
}

struct ObjectivesSet {
  episodeId @0 :Text;
  objectives @1 :List(Objective) $minItems(1) $maxItems(20);
}

struct Progress {
  objectiveId @0 :Text;
  status @1 :ObjectiveStatus;
}

struct SituationReviewed {
  episodeId @0 :Text;
  progress @1 :List(Progress) $maxItems(100);
  notes @2 :Text $optional $personal;
  nextReviewDate @3 :Int32 = .kNoDate $date $optional;
}

struct SupportPaused {
  episodeId @0 :Text;
  reason @1 :PauseReason;
}

struct SupportUnpaused {
  episodeId @0 :Text;
}

struct SupportClosed {
  episodeId @0 :Text;
  reason @1 :CloseReason;
}

struct SupportResumed {
  episodeId @0 :Text;
  previousEpisodeId @1 :Text;
  reason @2 :Text $personal;
}

struct ArrearsAlertRaised {
  dwellingId @0 :Text $bareId;
  amountCents @1 :Int64 $min(1);
  monthsUnpaid @2 :Int32 $min(1);
}

struct RepaymentPlanAgreed {
  monthlyCents @0 :Int64 $min(1);
  months @1 :Int32 $min(1) $max(120);
}

struct FslAidDecided {
  granted @0 :Bool;
  amountCents @1 :Int64 = -1 $min(0) $optional;
}

struct CcapexReferred {}

struct ArrearsCleared {}

struct EvictionStepRecorded {
  step @0 :EvictionStep;
  hearingDate @1 :Int32 = .kNoDate $date $optional $requiredIf((field = "step", value = "summons"));
}

struct DifficultyReported {
  category @0 :DifficultyCategory;
  severity @1 :Int32 $min(1) $max(3);
}

struct CaseTransferred {
  territory @0 :Territory;
}

enum ErasureReason { subjectRequest @0; retentionExpired @1; legalObligation @2; other @3; }

struct PersonalDataErased {
  # Recorded only by the erasure commands (lifecycle.md §1), which destroy the
  # household's key right after; refused `malformed` in an import or a POST.
  reason @0 :ErasureReason;
}

# ---------------------------------------------------------------------------
# Dwelling stream.

struct DwellingRegistered {
  territory @0 :Territory;
  commune @1 :Text;
  typology @2 :Typology;
  adaptations @3 :List(Adaptation) $maxItems(3);
  rentCents @4 :Int64 $min(0);
}

struct DwellingReserved {
  convention @0 :Text;
}

struct DwellingReservationEnded {}

# ---------------------------------------------------------------------------
# Territory stream.

struct StaffTrainingHeld {
  topic @0 :Text;
  attendees @1 :Int32 $min(1);
}

struct TenantConsultationHeld {
  tenantAssociation @0 :Text;
  topic @1 :Text;
  participants @2 :Int32 $min(1);
}

struct PartnerMeetingHeld {
  partners @0 :List(Text) $minItems(1) $maxItems(100);
  topic @1 :Text;
}

# ---------------------------------------------------------------------------
# Any stream.

struct EventCorrected {
  targetId @0 :Data $uuid;
  effectiveDate @1 :Int32 = .kNoDate $date $optional;
  data @2 :EventData $optional $correctionData;
  reason @3 :Text $personal;
  fields @4 :List(UInt16) $hidden;
  # Ordinals (in the target type's struct) of the fields `data` carries: a partial
  # object merges only these over the target (events.md §3).
}

struct EventRetracted {
  targetId @0 :Data $uuid;
  reason @1 :Text $personal;
}

# ---------------------------------------------------------------------------
# The event's data: one member per event type. Member ordinals are stored and
# never change; the union discriminant is the event type.

struct EventData {
  union {
    householdRegistered @0 :HouseholdRegistered $stream(household) $visibility(management);
    consentRecorded @1 :ConsentRecorded $stream(household) $visibility(social);
    householdReferred @2 :HouseholdReferred $stream(household) $visibility(social);
    referralDecided @3 :ReferralDecided $stream(household) $visibility(social);
    priorityRecognised @4 :PriorityRecognised $stream(household) $visibility(social);
    calApplicationFiled @5 :CalApplicationFiled $stream(household) $visibility(social);
    calDecisionRecorded @6 :CalDecisionRecorded $stream(household) $visibility(social);
    calConditionResolved @7 :CalConditionResolved $stream(household) $visibility(social);
    offerAnswered @8 :OfferAnswered $stream(household) $visibility(social);
    occupancyStarted @9 :OccupancyStarted $stream(household) $visibility(management);
    slideReviewHeld @10 :SlideReviewHeld $stream(household) $visibility(social);
    leaseSwitched @11 :LeaseSwitched $stream(household) $visibility(management);
    occupancyEnded @12 :OccupancyEnded $stream(household) $visibility(management);
    supportStarted @13 :SupportStarted $stream(household) $visibility(social);
    objectivesSet @14 :ObjectivesSet $stream(household) $visibility(social);
    situationReviewed @15 :SituationReviewed $stream(household) $visibility(social);
    supportPaused @16 :SupportPaused $stream(household) $visibility(social);
    supportUnpaused @17 :SupportUnpaused $stream(household) $visibility(social);
    supportClosed @18 :SupportClosed $stream(household) $visibility(social);
    supportResumed @19 :SupportResumed $stream(household) $visibility(social);
    arrearsAlertRaised @20 :ArrearsAlertRaised $stream(household) $visibility(management);
    repaymentPlanAgreed @21 :RepaymentPlanAgreed $stream(household) $visibility(management);
    fslAidDecided @22 :FslAidDecided $stream(household) $visibility(management);
    ccapexReferred @23 :CcapexReferred $stream(household) $visibility(management);
    arrearsCleared @24 :ArrearsCleared $stream(household) $visibility(management);
    evictionStepRecorded @25 :EvictionStepRecorded $stream(household) $visibility(management);
    difficultyReported @26 :DifficultyReported $stream(household) $visibility(management);
    caseTransferred @27 :CaseTransferred $stream(household) $visibility(management);
    dwellingRegistered @28 :DwellingRegistered $stream(dwelling) $visibility(management);
    dwellingReserved @29 :DwellingReserved $stream(dwelling) $visibility(management);
    dwellingReservationEnded @30 :DwellingReservationEnded $stream(dwelling) $visibility(management);
    staffTrainingHeld @31 :StaffTrainingHeld $stream(territory) $visibility(management);
    tenantConsultationHeld @32 :TenantConsultationHeld $stream(territory) $visibility(management);
    partnerMeetingHeld @33 :PartnerMeetingHeld $stream(territory) $visibility(management);
    eventCorrected @34 :EventCorrected $stream(any);
    eventRetracted @35 :EventRetracted $stream(any);
    personalDataErased @36 :PersonalDataErased $stream(household) $visibility(management);
  }
}

# ---------------------------------------------------------------------------
# The stored envelope. Its canonical Cap'n Proto encoding (capnp::canonicalize)
# is what the log stores and what the hash chain covers (docs/on-disk-format.md).

struct Actor {
  id @0 :Text;
  role @1 :Role;
  org @2 :Text;
}

struct StoredEvent {
  position @0 :UInt64;
  version @1 :UInt32;
  id @2 :Data;              # 16 bytes
  subject @3 :Text;         # "household/H-0001"
  effectiveDate @4 :Int32;  # days since 1970-01-01
  recordedAt @5 :Int64;     # microseconds since 1970-01-01T00:00:00Z
  actor @6 :Actor;
  data @7 :EventData;       # personal fields emptied, see `sealed`
  sealed @8 :Data;
  # XChaCha20-Poly1305 ciphertext of an EventData holding only the personal
  # fields, under the household's data key; absent when there are none. The
  # associated data is `id`; the nonce is derived from `id` (unique per key).
  prevHash @9 :Data;        # 32 bytes; zeros at position 1
}
