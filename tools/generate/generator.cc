// Synthetic data set generator: a discrete-event simulation of households,
// dwellings and territories, written as an NDJSON admin import.
//
// Design. Each household runs a few independent processes (access pipeline,
// support episodes, slide to a direct lease, arrears and eviction procedure,
// difficulties, departure, paperwork). A process is a small state machine that
// wakes up on a day, emits the events of that day and schedules its next wake-up
// on a single agenda ordered by (day, sequence). Because days are processed in
// increasing order and every event is recorded on the day it is emitted, the
// generator's own state is always the state the engine will have after the
// events so far, so each event is checked against exactly what the engine will
// check it against. recordedAt times are spread over office hours in emission
// order, so file order, position order and recordedAt order coincide.
//
// Late entries (effectiveDate before the recording day) are only made for facts
// that no rule of events.md reads back (DifficultyReported, PriorityRecognised,
// ConsentRecorded data_sharing, territory activity) or whose rules only look at
// state that has not changed since the back-dated day (SituationReviewed).

#include "generator.h"

#include <algorithm>
#include <array>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <queue>
#include <random>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace relais::tools {
namespace {

// ------------------------------------------------------------------ calendar
// Days are counted from 1970-01-01 (H. Hinnant's civil-date algorithms), so date
// arithmetic is integer arithmetic and formatting needs neither locale nor tz.

struct CivilDate {
  int year;
  int month;
  int day;
};

int DaysFromCivil(int y, int m, int d) {
  y -= m <= 2;
  const int era = (y >= 0 ? y : y - 399) / 400;
  const int yoe = y - era * 400;
  const int doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
  const int doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + doe - 719468;
}

CivilDate CivilFromDays(int z) {
  z += 719468;
  const int era = (z >= 0 ? z : z - 146096) / 146097;
  const int doe = z - era * 146097;
  const int yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const int doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const int mp = (5 * doy + 2) / 153;
  const int d = doy - (153 * mp + 2) / 5 + 1;
  const int m = mp < 10 ? mp + 3 : mp - 9;
  return {yoe + era * 400 + (m <= 2), m, d};
}

int DaysInMonth(int y, int m) {
  static constexpr int kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  const bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
  return m == 2 && leap ? 29 : kDays[m - 1];
}

// "Two calendar months after d" of events.md §4: same day of the month, or that
// month's last day when it has no such day.
int AddMonths(int day, int months) {
  const CivilDate c = CivilFromDays(day);
  const int total = c.year * 12 + (c.month - 1) + months;
  const int y = total / 12;
  const int m = total % 12 + 1;
  return DaysFromCivil(y, m, std::min(c.day, DaysInMonth(y, m)));
}

// Institutions (CAL, courts, registration desks) work Monday to Friday.
int NextWorkday(int day) {
  const int weekday = ((day % 7) + 7 + 3) % 7;  // 1970-01-01 was a Thursday; 0 = Monday.
  return weekday < 5 ? day : day + (7 - weekday);
}

// Winter truce (trêve hivernale): 1 November to 31 March inclusive.
bool InWinterTruce(int day) {
  const int m = CivilFromDays(day).month;
  return m >= 11 || m <= 3;
}

// First 1 April on or after `day`.
int NextSpring(int day) {
  const CivilDate c = CivilFromDays(day);
  const int april = DaysFromCivil(c.year, 4, 1);
  return april >= day ? april : DaysFromCivil(c.year + 1, 4, 1);
}

// Appends a non-negative value zero-padded to at least `width` digits.
void AppendDigits(std::string* out, int value, int width) {
  char buf[12];
  int n = 0;
  do {
    buf[n++] = static_cast<char>('0' + value % 10);
    value /= 10;
  } while (value > 0);
  out->append(static_cast<size_t>(std::max(width - n, 0)), '0');
  while (n > 0) out->push_back(buf[--n]);
}

void AppendDate(std::string* out, int day) {
  const CivilDate c = CivilFromDays(day);
  AppendDigits(out, c.year, 4);
  out->push_back('-');
  AppendDigits(out, c.month, 2);
  out->push_back('-');
  AppendDigits(out, c.day, 2);
}

// ----------------------------------------------------------------- randomness

// SplitMix64 finalizer: a bijection on 64-bit words, used for ids and jitter so
// that they never consume draws of the simulation's generator.
uint64_t Mix64(uint64_t x) {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

struct Choice {
  const char* value;
  int weight;
};

// std::uniform_int_distribution & co. are implementation-defined, so the same seed
// would give different files with libstdc++ and libc++. The mappings below are
// ours; the modulo bias (< 2^-40 for our ranges) is irrelevant here.
class Rng {
 public:
  explicit Rng(uint64_t seed) : engine_(seed) {}

  // Uniform integer in [lo, hi].
  int Between(int lo, int hi) {
    return lo + static_cast<int>(engine_() % static_cast<uint64_t>(hi - lo + 1));
  }
  bool Chance(double p) { return static_cast<double>(engine_() >> 11) * 0x1.0p-53 < p; }

  // Index drawn with probability proportional to the weights.
  size_t Weighted(std::span<const int> weights) {
    int total = 0;
    for (int w : weights) total += w;
    int draw = Between(0, total - 1);
    for (size_t i = 0; i < weights.size(); ++i) {
      if (draw < weights[i]) return i;
      draw -= weights[i];
    }
    return weights.size() - 1;
  }
  const char* Weighted(std::span<const Choice> choices) {
    int total = 0;
    for (const Choice& c : choices) total += c.weight;
    int draw = Between(0, total - 1);
    for (const Choice& c : choices) {
      if (draw < c.weight) return c.value;
      draw -= c.weight;
    }
    return choices.back().value;
  }
  template <typename T, size_t N>
  const T& Pick(const T (&items)[N]) {
    return items[static_cast<size_t>(Between(0, static_cast<int>(N) - 1))];
  }

 private:
  std::mt19937_64 engine_;
};

// ----------------------------------------------------------------------- JSON

// Appends a compact JSON object into a reusable buffer; keys are our literals.
class Json {
 public:
  Json& Reset() {
    text_.clear();
    depth_ = 0;
    comma_ = false;
    return Open('{', '}');
  }
  Json& Object(std::string_view key) { return Key(key).Open('{', '}'); }
  Json& Array(std::string_view key) { return Key(key).Open('[', ']'); }
  Json& Element() { return Open('{', '}'); }  // an object inside an array
  Json& End() {
    text_.push_back(closers_[--depth_]);
    comma_ = true;
    return *this;
  }
  Json& Str(std::string_view key, std::string_view value) { return Key(key).Quoted(value); }
  Json& Text(std::string_view value) { return Separate().Quoted(value); }  // array element
  Json& Int(std::string_view key, int64_t value) {
    Key(key);
    char buf[24];
    const auto result = std::to_chars(buf, buf + sizeof buf, value);
    text_.append(buf, result.ptr);
    comma_ = true;
    return *this;
  }
  Json& Bool(std::string_view key, bool value) {
    Key(key).text_.append(value ? "true" : "false");
    comma_ = true;
    return *this;
  }
  Json& Date(std::string_view key, int day) {
    Key(key).text_.push_back('"');
    AppendDate(&text_, day);
    text_.push_back('"');
    comma_ = true;
    return *this;
  }
  // Closes whatever is still open and returns the text.
  const std::string& Finish() {
    while (depth_ > 0) End();
    return text_;
  }

 private:
  Json& Separate() {
    if (comma_) text_.push_back(',');
    return *this;
  }
  Json& Open(char open, char close) {
    Separate();
    text_.push_back(open);
    closers_[depth_++] = close;
    comma_ = false;
    return *this;
  }
  Json& Key(std::string_view key) {
    Separate();
    text_.push_back('"');
    text_.append(key);
    text_.append("\":");
    comma_ = false;
    return *this;
  }
  Json& Quoted(std::string_view value) {
    text_.push_back('"');
    for (char c : value) {
      if (c == '"' || c == '\\') {
        text_.push_back('\\');
        text_.push_back(c);
      } else if (static_cast<unsigned char>(c) < 0x20) {
        static constexpr char kHex[] = "0123456789abcdef";
        text_.append("\\u00");
        text_.push_back(kHex[(c >> 4) & 0xf]);
        text_.push_back(kHex[c & 0xf]);
      } else {
        text_.push_back(c);
      }
    }
    text_.push_back('"');
    comma_ = true;
    return *this;
  }

  std::string text_;
  std::array<char, 8> closers_{};
  int depth_ = 0;
  bool comma_ = false;
};

// ----------------------------------------------------------------- catalogues
// Everything below is invented, except commune names (public geography).

constexpr std::array<const char*, 3> kTerritories = {"lille", "sud", "flandres"};
constexpr std::array<int, 3> kTerritoryWeights = {50, 30, 20};

struct Commune {
  const char* name;
  const char* code;  // used in dwelling ids
  int territory;
  int weight;
};

constexpr Commune kCommunes[] = {
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
constexpr int kCommuneCount = static_cast<int>(std::size(kCommunes));

constexpr const char* kFirstNames[] = {
    "Camille", "Dominique", "Claude", "Alex",   "Sacha",  "Morgan", "Charlie", "Lou",
    "Noa",     "Eden",      "Andréa", "Maxime", "Jordan", "Inès",   "Yanis",   "Nadia",
};
constexpr const char* kLastNames[] = {
    "Exemple", "Fictif",   "Modèle",    "Essai",    "Témoin",   "Démo",
    "Factice", "Spécimen", "Prototype", "Maquette", "Synthèse", "Placebo",
};

// Associations per territory (index 3: those working department-wide).
constexpr std::array<std::array<const char*, 3>, 4> kAssociations = {{
    {"Association Exemple Habitat Métropole", "Relais Fictif de l'Agglomération",
     "Toit Modèle Roubaix-Tourcoing"},
    {"Entraide Exemple du Hainaut", "Passerelle Fictive du Douaisis", "Abri Modèle de la Sambre"},
    {"Toit Exemple des Flandres", "Relais Fictif du Littoral", "Foyer Modèle de la Lys"},
    {"AES Exemple du Nord", "Solidarité Prototype Nord", "Habitat Témoin 59"},
}};

constexpr const char* kConventions[] = {
    "Convention AES Exemple",
    "Convention Logement d'abord (exemple)",
    "Contingent préfectoral (exemple)",
    "Convention bail glissant Exemple",
};

// Referral sources of the access track (realistic mix for the Nord programme).
constexpr Choice kAccessSources[] = {
    {"siao", 34},      {"dalo", 10},       {"pdalhpd", 6}, {"chrs", 15},
    {"epsm", 8},       {"spip", 7},        {"epdsae", 5},  {"insalubrity", 4},
    {"travellers", 2}, {"association", 5}, {"other", 4},
};
constexpr Choice kMaintienSources[] = {{"agency", 75}, {"association", 15}, {"other", 10}};

constexpr const char* kRefusalReasons[] = {
    "Situation ne relevant pas du dispositif",
    "Ressources insuffisantes à ce stade",
    "Ménage orienté vers un autre dispositif",
    "Absence d'adhésion à l'accompagnement",
};
constexpr const char* kExpiryReasons[] = {
    "Pas de retour du ménage après relances",
    "Dossier incomplet au terme du délai",
    "Ménage injoignable",
};
constexpr const char* kNonAttributionReasons[] = {
    "Typologie inadaptée à la composition familiale",
    "Taux d'effort trop élevé",
    "Autre candidat retenu en rang 1",
    "Logement inadapté aux besoins de mobilité",
};
constexpr const char* kInadmissibleReasons[] = {
    "Dossier incomplet",
    "Plafond de ressources dépassé",
    "Demande de logement non renouvelée",
};
constexpr const char* kConditions[] = {
    "Ouverture des droits APL",
    "Mise en place d'une mesure ASLL",
    "Justificatif de ressources à fournir",
    "Signature du contrat d'accompagnement",
};
constexpr const char* kOfferRefusals[] = {
    "Logement trop éloigné des écoles",
    "Étage élevé sans ascenseur",
    "Quartier refusé par le ménage",
    "Loyer jugé trop élevé par le ménage",
};
constexpr const char* kResumeReasons[] = {
    "Nouvelles difficultés budgétaires", "Demande du ménage",
    "Signalement du bailleur",           "Rupture de droits",
    "Troubles du voisinage signalés",
};
constexpr const char* kReviewNotes[] = {
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
constexpr const char* kCorrectionReasons[] = {
    "Erreur de saisie",
    "Correction après vérification du dossier",
    "Donnée mise à jour d'après le justificatif",
    "Date erronée",
};
constexpr const char* kRetractionReasons[] = {
    "Saisi dans le mauvais dossier",
    "Doublon d'un signalement déjà enregistré",
    "Signalement non confirmé",
};
constexpr const char* kTrainingTopics[] = {
    "Approche des publics en difficulté",
    "Repérage des troubles psychiques",
    "Prévention des expulsions locatives",
    "Le bail glissant en pratique",
    "Accès aux droits et FSL",
    "Logement d'abord : principes et outils",
};
constexpr const char* kConsultationTopics[] = {
    "Charges locatives",
    "Travaux de réhabilitation",
    "Cadre de vie et tranquillité",
    "Accueil des nouveaux locataires",
};
constexpr const char* kTenantAssociations[] = {
    "Amicale des locataires Exemple",
    "Collectif fictif des habitants",
    "Association Modèle de locataires",
};
constexpr const char* kPartners[] = {
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
constexpr const char* kMeetingTopics[] = {
    "Commission de suivi des situations complexes",
    "Bilan trimestriel du dispositif",
    "Coordination santé mentale et logement",
    "Sorties d'institutions",
    "Prévention des expulsions",
};

constexpr Choice kAccessKinds[] = {
    {"asll", 35},         {"avdl", 15}, {"global", 20}, {"gla", 12}, {"chrs_hors_les_murs", 8},
    {"housing_first", 10}};
constexpr Choice kMaintienKinds[] = {{"avdl", 45}, {"asll", 35}, {"global", 20}};
constexpr Choice kDomains[] = {{"budget", 25},     {"housing", 25},  {"rights", 15}, {"health", 10},
                               {"employment", 10}, {"parenting", 8}, {"social", 7}};
constexpr Choice kCloseReasons[] = {{"objectives_met", 35},
                                    {"handed_to_mainstream", 25},
                                    {"non_engagement", 15},
                                    {"end_of_funding", 15},
                                    {"other", 10}};
constexpr Choice kPauseReasons[] = {
    {"hospitalisation", 40}, {"incarceration", 10}, {"household_request", 35}, {"other", 15}};
constexpr Choice kDifficulties[] = {{"neighbourhood", 25},
                                    {"dwelling_upkeep", 25},
                                    {"mental_health", 20},
                                    {"isolation", 20},
                                    {"other", 10}};
constexpr Choice kPriorityBases[] = {{"collective_agreement", 50}, {"syplo", 30}, {"pdalhpd", 20}};
constexpr const char* kObjectiveStatuses[] = {"not_started", "in_progress", "achieved",
                                              "abandoned"};
constexpr std::array<int, 6> kTypologyRentCents = {29000, 36000, 43000, 50000, 57000, 63000};

// ------------------------------------------------------------------- emitter

struct Extras {
  bool expect_new_stream = false;  // adds "expectedVersion": -1
  std::string_view actor;          // an actor object, or empty for the import default
};

// Builds the NDJSON lines. Events of one simulated day are held until the day is
// over, then stamped with recordedAt times spread over office hours in emission
// order. With no output stream it only counts (scale calibration).
class Emitter {
 public:
  Emitter(uint64_t seed, std::ostream* out) : key_(Mix64(seed ^ 0x7e1a15ULL)), out_(out) {}

  void BeginBatch() {
    batch_open_ = true;
    batch_has_line_ = false;
  }
  void EndBatch() { batch_open_ = false; }

  // Returns the event's ordinal (0-based, in file order), which determines its id.
  int64_t Add(std::string_view type, std::string_view subject, int effective_day,
              std::string_view data, const Extras& extras) {
    const int64_t ordinal = events_++;
    const bool new_line = !batch_open_ || !batch_has_line_;
    if (new_line) {
      ++lines_;
      batch_has_line_ = batch_open_;
    }
    if (out_ == nullptr) return ordinal;
    if (new_line) day_lines_.push_back({event_ends_.size(), 0});
    ++day_lines_.back().count;
    day_text_.append("{\"id\":\"");
    AppendUuid(&day_text_, ordinal);
    day_text_.append("\",\"type\":\"").append(type);
    day_text_.append("\",\"subject\":\"").append(subject);
    day_text_.append("\",\"effectiveDate\":\"");
    AppendDate(&day_text_, effective_day);
    day_text_.append("\",\"data\":").append(data);
    if (extras.expect_new_stream) day_text_.append(",\"expectedVersion\":-1");
    if (!extras.actor.empty()) day_text_.append(",\"actor\":").append(extras.actor);
    event_ends_.push_back(day_text_.size());
    return ordinal;
  }

  // Lowercase canonical UUID (version 4 layout). 64 bits of it are a bijection of
  // the ordinal, so ids are unique by construction, not just with high probability.
  void AppendUuid(std::string* out, int64_t ordinal) const {
    const uint64_t x = Mix64(static_cast<uint64_t>(ordinal) ^ key_);
    const uint64_t noise = Mix64(x ^ 0x632be59bd9b4e019ULL);
    const uint64_t a = x >> 4;
    const uint64_t hi = ((a >> 12) << 16) | (0x4ULL << 12) | (a & 0xfff);
    const uint64_t lo = (0x2ULL << 62) | ((x & 0xf) << 58) | (noise & ((1ULL << 58) - 1));
    static constexpr char kHex[] = "0123456789abcdef";
    char buf[36];
    int pos = 0;
    for (int i = 0; i < 32; ++i) {
      if (i == 8 || i == 12 || i == 16 || i == 20) buf[pos++] = '-';
      const uint64_t word = i < 16 ? hi : lo;
      buf[pos++] = kHex[(word >> (60 - 4 * (i % 16))) & 0xf];
    }
    out->append(buf, sizeof buf);
  }

  void FinishDay(int day) {
    if (out_ == nullptr || day_lines_.empty()) return;
    constexpr double kOfficeStartUs = 8.0 * 3600e6;
    constexpr double kOfficeSpanUs = 10.0 * 3600e6;
    const size_t n = day_lines_.size();
    const int64_t first_line = lines_ - static_cast<int64_t>(n);
    std::string stamp;
    for (size_t i = 0; i < n; ++i) {
      // Jitter keeps the spacing irregular; (i + u) < (i + 1) keeps it monotonic.
      const double u =
          static_cast<double>(Mix64(key_ + static_cast<uint64_t>(first_line) + i) >> 11) *
          0x1.0p-53;
      const auto us = static_cast<int64_t>(
          kOfficeStartUs + (static_cast<double>(i) + u) * kOfficeSpanUs / static_cast<double>(n));
      stamp.clear();
      AppendDate(&stamp, day);
      stamp.push_back('T');
      AppendDigits(&stamp, static_cast<int>(us / 3600000000LL), 2);
      stamp.push_back(':');
      AppendDigits(&stamp, static_cast<int>(us / 60000000LL % 60), 2);
      stamp.push_back(':');
      AppendDigits(&stamp, static_cast<int>(us / 1000000LL % 60), 2);
      stamp.push_back('.');
      AppendDigits(&stamp, static_cast<int>(us % 1000000LL), 6);
      stamp.push_back('Z');
      WriteLine(day_lines_[i], stamp);
    }
    day_lines_.clear();
    event_ends_.clear();
    day_text_.clear();
    if (buffer_.size() >= (1u << 20)) Flush();
  }

  void Flush() {
    if (out_ != nullptr && !buffer_.empty()) {
      out_->write(buffer_.data(), static_cast<std::streamsize>(buffer_.size()));
      buffer_.clear();
    }
  }

  int64_t events() const { return events_; }
  int64_t lines() const { return lines_; }

 private:
  struct PendingLine {
    size_t first;  // index into event_ends_
    size_t count;
  };

  void WriteLine(const PendingLine& line, const std::string& stamp) {
    if (line.count > 1) buffer_.push_back('[');
    for (size_t e = line.first; e < line.first + line.count; ++e) {
      if (e > line.first) buffer_.push_back(',');
      const size_t begin = e == 0 ? 0 : event_ends_[e - 1];
      buffer_.append(day_text_, begin, event_ends_[e] - begin);
      buffer_.append(",\"recordedAt\":\"").append(stamp).append("\"}");
    }
    if (line.count > 1) buffer_.push_back(']');
    buffer_.push_back('\n');
  }

  const uint64_t key_;
  std::ostream* const out_;
  int64_t events_ = 0;
  int64_t lines_ = 0;
  bool batch_open_ = false;
  bool batch_has_line_ = false;
  std::string day_text_;            // the day's events, without recordedAt and final brace
  std::vector<size_t> event_ends_;  // end offset of each event in day_text_
  std::vector<PendingLine> day_lines_;
  std::string buffer_;  // output not yet written
};

// ------------------------------------------------------------- simulation state

enum class Track : uint8_t { kAccess, kMaintien };
enum class Contract : uint8_t { kHosting, kSublease, kDirectLease };
constexpr const char* kContractNames[] = {"hosting", "sublease", "direct_lease"};
enum class EpisodeStatus : uint8_t { kNone, kActive, kPaused, kClosed };
enum class AccessStep : uint8_t {
  kRefer,
  kDecideReferral,
  kApply,
  kCalDecision,
  kResolveCondition,
  kAnswerOffer,
  kMoveIn
};
enum class SupportStep : uint8_t { kStart, kObjectives, kReview, kResume };
enum class ArrearsStep : uint8_t { kRaise, kManage, kClear, kProcedure };
// Procedure stages of events.md §4.
enum class Stage : uint8_t {
  kNone,
  kPaymentOrder,
  kSummons,
  kJudgmentTermination,
  kOrderToLeave,
  kPoliceRequested,
  kPoliceRefused,
  kPoliceGranted,
  kClosed
};

// Processes a household runs; each has at most one pending wake-up.
enum class Process : uint8_t {
  kRegister,
  kAccess,
  kMaintien,
  kSupport,
  kSlide,
  kDeparture,
  kArrears,
  kDifficulty,
  kAdmin,
  kFix,        // not a household process: a correction or retraction
  kTerritory,  // not a household process: a coordinator's activity
};
constexpr int kHouseholdProcesses = 9;

struct Objective {
  int number;
  int status;  // index into kObjectiveStatuses
};

struct Household {
  Track track = Track::kAccess;
  int number = 0;
  std::string subject;
  int territory = 0;
  int commune = 0;
  int adults = 1;
  int children = 0;
  int registered_on = 0;
  const char* source = "";
  bool active = true;  // false once the programme no longer follows the household
  bool support_consent = false;
  bool data_sharing = false;
  bool transferred = false;
  // Wake-up tokens: a scheduled wake-up only runs if its token is still current,
  // which cancels stale wake-ups without searching the agenda.
  std::array<uint32_t, kHouseholdProcesses> tokens{};

  int referrals = 0;  // referral ids are R1, R2...
  int referral_day = 0;
  int refused_referrals = 0;
  bool maintien_referral = false;
  bool pending_priority = false;

  AccessStep access_step = AccessStep::kRefer;
  int applications = 0;
  int candidate = -1;  // dwelling claimed for the application in progress
  int condition_deadline = 0;

  int home = -1;  // dwelling of the active occupancy
  Contract contract = Contract::kDirectLease;
  bool favourable_review = false;

  SupportStep support_step = SupportStep::kStart;
  EpisodeStatus episode_status = EpisodeStatus::kNone;
  int episodes = 0;  // episode ids are E1, E2...
  const char* episode_kind = "";
  const char* episode_association = "";
  int episode_last_change = 0;  // last day its status or objectives changed
  int episode_planned_end = 0;
  std::vector<Objective> objectives;  // those set in the current episode
  int objective_count = 0;            // objective ids are O1, O2... across episodes

  ArrearsStep arrears_step = ArrearsStep::kRaise;
  bool arrears_open = false;
  int arrears_cents = 0;
  int ccapex_day = -1;  // CcapexReferred of the current arrears episode
  bool need_ccapex = false;
  bool need_plan = false;
  bool need_fsl = false;
  bool procedure = false;
  Stage stage = Stage::kNone;
};

struct Dwelling {
  std::string id;
  std::string subject;
  int territory = 0;
  int commune = 0;
  int typology = 0;  // 0 = T1
  int rent_cents = 0;
  bool reserved = false;
  int occupant = -1;
  int vacant_slot = -1;  // index in the territory's vacant list, or -1
};

enum class FixKind : uint8_t {
  kSeverity,
  kDifficultyDate,
  kRetract,
  kRent,
  kAmount,
  kNotes,
  kCount,
  kTerritoryDate
};

// A correction or retraction decided when its target was emitted.
struct Fix {
  int64_t target;  // ordinal of the target event
  int owner;       // household index, or -1 - territory
  FixKind kind;
  int value;
  int effective_day;  // the target's effective day
  int floor_day;      // a corrected effectiveDate may not go before it
  const char* field;
};

struct Wakeup {
  int day;
  int64_t seq;
  int who;  // household, fix or territory index
  Process process;
  uint32_t token;
};
struct Later {
  bool operator()(const Wakeup& a, const Wakeup& b) const {
    return a.day != b.day ? a.day > b.day : a.seq > b.seq;
  }
};

struct SimStats {
  GenStats gen;
  int64_t territory_events = 0;  // not scaled with households
};

class Simulation {
 public:
  Simulation(const GenOptions& options, double scale, std::ostream* out)
      : options_(options),
        scale_(scale),
        rng_(options.seed),
        emitter_(options.seed, out),
        start_day_(DaysFromCivil(options.start_year, 1, 1)),
        end_day_(DaysFromCivil(options.start_year + options.years, 1, 1)),
        today_(start_day_),
        serials_(kCommuneCount, 0) {}

  SimStats Run();

 private:
  // Plumbing.
  void Schedule(int who, Process process, int day);
  void Cancel(int who, Process process);
  void Dispatch(const Wakeup& wakeup);
  int64_t Emit(std::string_view type, std::string_view subject, int effective_day,
               const Extras& extras = {});
  Json& Data() { return data_.Reset(); }
  int Late(double probability, int floor_day);
  void PlanFix(int64_t target, int owner, FixKind kind, int value, int effective_day, int floor_day,
               const char* field = "");
  template <typename T, size_t N>
  const T& Pick(const T (&items)[N]) {
    return rng_.Pick(items);
  }

  // Population.
  void PlanArrivals();
  void RegisterStock();
  int PickCommune(int territory);
  int TypologyFor(const Household& h);
  int NewDwelling(int territory, int commune, int typology, int effective_day, bool may_reserve);
  void AddVacant(int dwelling);
  void RemoveVacant(int dwelling);
  int ClaimDwelling(int who);
  void MoveIn(int who, int dwelling, Contract contract);
  void Vacate(int who);
  const char* Association(int territory);
  std::string Referrer(const char* source, int commune);

  // Household processes.
  void Register(int who);
  void Consent(int who, const char* purpose, bool given, int effective_day);
  void StartMaintien(int who, int home);
  void DecideMaintienReferral(int who);
  void AccessFlow(int who);
  void Refer(int who);
  void DecideReferral(int who);
  void Apply(int who);
  void RecordCalDecision(int who);
  void ResolveCondition(int who);
  void AnswerOffer(int who);
  void ApplyAgain(int who);
  void StartOccupancy(int who);
  void Support(int who);
  void StartEpisode(int who);
  void SetObjectives(int who, int count);
  void ReviewEpisode(int who);
  void ResumeEpisode(int who);
  void CloseEpisode(int who, const char* reason);
  void Slide(int who);
  void Depart(int who);
  void Arrears(int who);
  void RaiseArrears(int who);
  void ManageArrears(int who);
  void ClearArrears(int who);
  void ProcedureStep(int who);
  void RecordStep(int who, const char* step, Stage next, int hearing_day = -1);
  void EndProcedure(int who, const char* step);
  void Evict(int who);
  void ReportDifficulty(int who);
  void Admin(int who);

  // Not household processes.
  void ApplyFix(const Fix& fix);
  void TerritoryActivity(int territory);

  const GenOptions& options_;
  const double scale_;
  Rng rng_;
  Emitter emitter_;
  Json data_;
  const int start_day_;
  const int end_day_;  // first day after the simulated period
  int today_;
  int64_t next_seq_ = 0;
  int64_t territory_events_ = 0;
  std::priority_queue<Wakeup, std::vector<Wakeup>, Later> agenda_;
  std::vector<Household> households_;
  std::vector<Dwelling> dwellings_;
  std::array<std::vector<int>, 3> vacant_;  // per territory, dwellings free to offer
  std::vector<int> serials_;                // per commune, last dwelling number
  std::vector<Fix> fixes_;
  int registered_ = 0;
};

// ------------------------------------------------------------------- plumbing

void Simulation::Schedule(int who, Process process, int day) {
  // Nothing happens after the period; wake-ups past its end are simply dropped.
  if (day >= end_day_) return;
  uint32_t token = 0;
  if (static_cast<int>(process) < kHouseholdProcesses) {
    token = ++households_[who].tokens[static_cast<int>(process)];
  }
  agenda_.push({std::max(day, today_), next_seq_++, who, process, token});
}

void Simulation::Cancel(int who, Process process) {
  ++households_[who].tokens[static_cast<int>(process)];
}

int64_t Simulation::Emit(std::string_view type, std::string_view subject, int effective_day,
                         const Extras& extras) {
  return emitter_.Add(type, subject, effective_day, data_.Finish(), extras);
}

// Effective day of a fact recorded today: usually today, sometimes a late entry
// made days or weeks after the fact, never before `floor_day`.
int Simulation::Late(double probability, int floor_day) {
  if (!rng_.Chance(probability)) return today_;
  const int day = std::max(today_ - rng_.Between(2, 45), floor_day);
  return std::min(day, today_);
}

void Simulation::PlanFix(int64_t target, int owner, FixKind kind, int value, int effective_day,
                         int floor_day, const char* field) {
  fixes_.push_back({target, owner, kind, value, effective_day, floor_day, field});
  Schedule(static_cast<int>(fixes_.size()) - 1, Process::kFix,
           NextWorkday(today_ + rng_.Between(7, 120)));
}

SimStats Simulation::Run() {
  PlanArrivals();
  RegisterStock();
  for (int t = 0; t < 3; ++t) {
    Schedule(t, Process::kTerritory, NextWorkday(start_day_ + rng_.Between(0, 10)));
  }
  while (!agenda_.empty()) {
    const Wakeup wakeup = agenda_.top();
    agenda_.pop();
    if (wakeup.day != today_) {
      emitter_.FinishDay(today_);
      today_ = wakeup.day;
    }
    Dispatch(wakeup);
  }
  emitter_.FinishDay(today_);
  emitter_.Flush();
  SimStats stats;
  stats.gen.lines = emitter_.lines();
  stats.gen.events = emitter_.events();
  stats.gen.households = registered_;
  stats.gen.dwellings = static_cast<int64_t>(dwellings_.size());
  stats.territory_events = territory_events_;
  return stats;
}

void Simulation::Dispatch(const Wakeup& wakeup) {
  if (wakeup.process == Process::kFix) return ApplyFix(fixes_[wakeup.who]);
  if (wakeup.process == Process::kTerritory) return TerritoryActivity(wakeup.who);
  const Household& h = households_[wakeup.who];
  if (wakeup.token != h.tokens[static_cast<int>(wakeup.process)]) return;  // superseded
  switch (wakeup.process) {
    case Process::kRegister:
      return Register(wakeup.who);
    case Process::kAccess:
      return AccessFlow(wakeup.who);
    case Process::kMaintien:
      return DecideMaintienReferral(wakeup.who);
    case Process::kSupport:
      return Support(wakeup.who);
    case Process::kSlide:
      return Slide(wakeup.who);
    case Process::kDeparture:
      return Depart(wakeup.who);
    case Process::kArrears:
      return Arrears(wakeup.who);
    case Process::kDifficulty:
      return ReportDifficulty(wakeup.who);
    case Process::kAdmin:
      return Admin(wakeup.who);
    default:
      return;
  }
}

// ----------------------------------------------------------------- population

// Households arrive uniformly over each year, per_year x scale of each track.
// The fractional part carries over from year to year so small scales still work.
void Simulation::PlanArrivals() {
  struct Flow {
    Track track;
    int per_year;
  };
  const Flow flows[] = {{Track::kAccess, options_.access_per_year},
                        {Track::kMaintien, options_.maintien_per_year}};
  for (int y = 0; y < options_.years; ++y) {
    const int first = DaysFromCivil(options_.start_year + y, 1, 1);
    const int length = DaysFromCivil(options_.start_year + y + 1, 1, 1) - first;
    for (const Flow& flow : flows) {
      const double rate = flow.per_year * scale_;
      const auto count = static_cast<int>(std::floor(rate * (y + 1)) - std::floor(rate * y));
      for (int i = 0; i < count; ++i) {
        households_.emplace_back();
        households_.back().track = flow.track;
        const int who = static_cast<int>(households_.size()) - 1;
        Schedule(who, Process::kRegister, NextWorkday(first + rng_.Between(0, length - 1)));
      }
    }
  }
}

// Dwellings already captured for the programme when the period starts, some
// of them registered years earlier.
void Simulation::RegisterStock() {
  for (int t = 0; t < 3; ++t) {
    const double share = kTerritoryWeights[static_cast<size_t>(t)] / 100.0;
    const auto count =
        static_cast<int>(std::lround(options_.access_per_year * scale_ * share * 0.4));
    for (int i = 0; i < count; ++i) {
      const int d = NewDwelling(t, PickCommune(t), rng_.Between(0, 4),
                                start_day_ - rng_.Between(0, 3 * 365), /*may_reserve=*/true);
      AddVacant(d);
    }
  }
}

int Simulation::PickCommune(int territory) {
  int total = 0;
  for (const Commune& c : kCommunes) total += c.territory == territory ? c.weight : 0;
  int draw = rng_.Between(0, total - 1);
  for (int i = 0; i < kCommuneCount; ++i) {
    if (kCommunes[i].territory != territory) continue;
    if (draw < kCommunes[i].weight) return i;
    draw -= kCommunes[i].weight;
  }
  return 0;
}

int Simulation::TypologyFor(const Household& h) {
  const int persons = h.adults + h.children;
  const int base = std::clamp(persons - 1, 0, 4);
  return std::min(base + rng_.Between(0, 1), 5);
}

// Registers a new dwelling (and sometimes reserves it under a convention, in the
// same atomic batch or on its own line) and returns its index.
int Simulation::NewDwelling(int territory, int commune, int typology, int effective_day,
                            bool may_reserve) {
  Dwelling d;
  d.territory = territory;
  d.commune = commune;
  d.typology = typology;
  d.id = std::string("D-") + kCommunes[commune].code + "-";
  const int serial = ++serials_[static_cast<size_t>(commune)];
  AppendDigits(&d.id, serial, 4);
  d.subject = "dwelling/" + d.id;
  d.rent_cents = kTypologyRentCents[static_cast<size_t>(typology)] + 50 * rng_.Between(-60, 60);
  static constexpr const char* kAdaptations[][2] = {{nullptr, nullptr},
                                                    {"ground_floor", nullptr},
                                                    {"wheelchair", "ground_floor"},
                                                    {"inclusive", nullptr}};
  const size_t adaptation = rng_.Weighted(std::array<int, 4>{85, 6, 4, 5});
  d.reserved = may_reserve && rng_.Chance(0.35);
  const bool batch = d.reserved && rng_.Chance(0.5);
  if (batch) emitter_.BeginBatch();
  Json& j = Data()
                .Str("territory", kTerritories[static_cast<size_t>(territory)])
                .Str("commune", kCommunes[commune].name)
                .Str("typology", std::string("T") + static_cast<char>('1' + typology))
                .Array("adaptations");
  for (const char* a : kAdaptations[adaptation]) {
    if (a != nullptr) j.Text(a);
  }
  j.End().Int("rentCents", d.rent_cents);
  Emit("DwellingRegistered", d.subject, effective_day, {.expect_new_stream = !batch, .actor = {}});
  if (d.reserved) {
    Data().Str("convention", Pick(kConventions));
    Emit("DwellingReserved", d.subject, today_);
  }
  if (batch) emitter_.EndBatch();
  dwellings_.push_back(std::move(d));
  return static_cast<int>(dwellings_.size()) - 1;
}

void Simulation::AddVacant(int dwelling) {
  Dwelling& d = dwellings_[static_cast<size_t>(dwelling)];
  std::vector<int>& list = vacant_[static_cast<size_t>(d.territory)];
  d.vacant_slot = static_cast<int>(list.size());
  list.push_back(dwelling);
}

void Simulation::RemoveVacant(int dwelling) {
  Dwelling& d = dwellings_[static_cast<size_t>(dwelling)];
  std::vector<int>& list = vacant_[static_cast<size_t>(d.territory)];
  const int last = list.back();
  list[static_cast<size_t>(d.vacant_slot)] = last;
  dwellings_[static_cast<size_t>(last)].vacant_slot = d.vacant_slot;
  list.pop_back();
  d.vacant_slot = -1;
}

// Picks the dwelling an application is filed for. A claimed dwelling leaves the
// vacant list until the application fails or the household leaves it, so no
// two households are ever offered, let alone housed in, the same dwelling at
// the same time: this is what keeps occupancy intervals disjoint.
int Simulation::ClaimDwelling(int who) {
  const Household& h = households_[static_cast<size_t>(who)];
  const int typology = TypologyFor(h);
  const std::vector<int>& list = vacant_[static_cast<size_t>(h.territory)];
  if (!list.empty() && rng_.Chance(0.8)) {
    const size_t offset = static_cast<size_t>(rng_.Between(0, static_cast<int>(list.size()) - 1));
    for (size_t i = 0; i < std::min<size_t>(list.size(), 48); ++i) {
      const int d = list[(offset + i) % list.size()];
      if (std::abs(dwellings_[static_cast<size_t>(d)].typology - typology) <= 1) {
        RemoveVacant(d);
        return d;
      }
    }
  }
  const int commune = rng_.Chance(0.7) && kCommunes[h.commune].territory == h.territory
                          ? h.commune
                          : PickCommune(h.territory);
  // Captured for the programme that day or a few days before the application.
  const int registered = rng_.Chance(0.5) ? today_ - rng_.Between(1, 20) : today_;
  return NewDwelling(h.territory, commune, typology, registered, /*may_reserve=*/true);
}

void Simulation::MoveIn(int who, int dwelling, Contract contract) {
  Household& h = households_[static_cast<size_t>(who)];
  Dwelling& d = dwellings_[static_cast<size_t>(dwelling)];
  if (d.occupant != -1 || d.vacant_slot != -1) {
    // Would break dwelling_occupied: a bug of this generator, never of its input.
    std::fprintf(stderr, "generator: %s handed out twice\n", d.id.c_str());
    std::abort();
  }
  d.occupant = who;
  h.home = dwelling;
  h.contract = contract;
  h.favourable_review = false;
}

// The occupancy ended today (departure or eviction): the dwelling may be
// offered again, and a new household may move in from today on.
void Simulation::Vacate(int who) {
  Household& h = households_[static_cast<size_t>(who)];
  const int dwelling = h.home;
  h.home = -1;
  Dwelling& d = dwellings_[static_cast<size_t>(dwelling)];
  d.occupant = -1;
  AddVacant(dwelling);
  if (d.reserved && rng_.Chance(0.15)) {
    d.reserved = false;
    Data();
    Emit("DwellingReservationEnded", d.subject, today_);
  } else if (!d.reserved && rng_.Chance(0.1)) {
    d.reserved = true;
    Data().Str("convention", Pick(kConventions));
    Emit("DwellingReserved", d.subject, today_);
  }
}

const char* Simulation::Association(int territory) {
  const size_t list = rng_.Chance(0.25) ? 3 : static_cast<size_t>(territory);
  return kAssociations[list][static_cast<size_t>(rng_.Between(0, 2))];
}

std::string Simulation::Referrer(const char* source, int commune) {
  const std::string_view s = source;
  const std::string town = kCommunes[commune].name;
  if (s == "siao") return "SIAO Exemple du Nord";
  if (s == "dalo") return "Commission de médiation DALO (exemple)";
  if (s == "pdalhpd") return "Comité PDALHPD Exemple";
  if (s == "chrs") return "CHRS Les Tilleuls fictifs de " + town;
  if (s == "epsm") return "EPSM Exemple, secteur de " + town;
  if (s == "spip") return "SPIP Exemple du Nord";
  if (s == "epdsae") return "EPDSAE Exemple";
  if (s == "insalubrity") return "Service communal d'hygiène de " + town;
  if (s == "travellers") return "Aire d'accueil Exemple de " + town;
  if (s == "agency") return "Agence Exemple de " + town;
  if (s == "association") return Association(kCommunes[commune].territory);
  return "CCAS de " + town;
}

// ------------------------------------------------------------ registration

void Simulation::Register(int who) {
  Household& h = households_[static_cast<size_t>(who)];
  h.number = ++registered_;
  h.subject = "household/H-";
  AppendDigits(&h.subject, h.number, 6);
  h.territory = static_cast<int>(rng_.Weighted(kTerritoryWeights));
  h.commune = PickCommune(h.territory);
  h.adults = rng_.Chance(0.6) ? 1 : 2;
  h.children = static_cast<int>(rng_.Weighted(std::array<int, 6>{40, 22, 18, 11, 6, 3}));
  h.registered_on = today_;
  h.support_consent = h.track == Track::kAccess || rng_.Chance(0.9);
  h.data_sharing = rng_.Chance(0.5);
  const std::string name = std::string(Pick(kFirstNames)) + " " + Pick(kLastNames);
  const int birth = today_ - rng_.Between(19, 74) * 365 - rng_.Between(0, 364);

  int home = -1;
  if (h.track == Track::kMaintien) {
    home = NewDwelling(h.territory, h.commune, TypologyFor(h), today_, /*may_reserve=*/false);
  }
  // Registration and consents often arrive together from the intake form.
  const bool batch = rng_.Chance(0.6);
  if (batch) emitter_.BeginBatch();
  Data()
      .Str("territory", kTerritories[static_cast<size_t>(h.territory)])
      .Str("commune", kCommunes[h.commune].name)
      .Int("adults", h.adults)
      .Int("children", h.children)
      .Object("headOfHousehold")
      .Str("name", name)
      .Date("birthDate", birth);
  Emit("HouseholdRegistered", h.subject, today_, {.expect_new_stream = !batch, .actor = {}});
  if (h.support_consent) Consent(who, "support", true, today_);
  if (h.data_sharing) Consent(who, "data_sharing", true, today_);
  if (batch) emitter_.EndBatch();

  if (h.track == Track::kMaintien) {
    StartMaintien(who, home);
  } else {
    Schedule(who, Process::kAccess, NextWorkday(today_ + rng_.Between(0, 14)));
  }
  Schedule(who, Process::kAdmin, today_ + rng_.Between(60, 300));
}

void Simulation::Consent(int who, const char* purpose, bool given, int effective_day) {
  const Household& h = households_[static_cast<size_t>(who)];
  Data().Str("purpose", purpose).Bool("given", given);
  const int64_t ordinal = Emit("ConsentRecorded", h.subject, effective_day);
  // A data-sharing consent entered in the wrong file and later retracted is a
  // harmless slip: no rule reads that consent.
  if (std::string_view(purpose) == "data_sharing" && rng_.Chance(0.02)) {
    PlanFix(ordinal, who, FixKind::kRetract, 0, effective_day, h.registered_on);
  }
}

// ------------------------------------------------------------------- maintien

// An existing tenant enters the programme: the tenancy predates it, so the
// occupancy is "preexisting" and starts on the registration day (it cannot
// start earlier: HouseholdRegistered must come first in effective order).
void Simulation::StartMaintien(int who, int home) {
  Household& h = households_[static_cast<size_t>(who)];
  h.source = rng_.Weighted(kMaintienSources);
  h.referrals = 1;
  h.referral_day = today_;
  h.maintien_referral = true;
  Data()
      .Str("referralId", "R1")
      .Str("track", "maintien")
      .Str("source", h.source)
      .Str("referrer", Referrer(h.source, h.commune));
  Emit("HouseholdReferred", h.subject, today_);
  const Dwelling& d = dwellings_[static_cast<size_t>(home)];
  Data()
      .Str("dwellingId", d.id)
      .Str("contract", "direct_lease")
      .Int("rentCents", d.rent_cents)
      .Bool("preexisting", true);
  Emit("OccupancyStarted", h.subject, today_);
  MoveIn(who, home, Contract::kDirectLease);

  Schedule(who, Process::kMaintien, NextWorkday(today_ + rng_.Between(3, 20)));
  if (rng_.Chance(0.8)) Schedule(who, Process::kArrears, today_ + rng_.Between(0, 45));
  Schedule(who, Process::kDifficulty, today_ + rng_.Between(20, 200));
  if (rng_.Chance(0.3)) Schedule(who, Process::kDeparture, today_ + rng_.Between(180, 1500));
}

void Simulation::DecideMaintienReferral(int who) {
  Household& h = households_[static_cast<size_t>(who)];
  const char* outcome =
      rng_.Weighted(std::array<Choice, 3>{{{"accepted", 93}, {"refused", 4}, {"expired", 3}}});
  Json& j = Data().Str("referralId", "R1").Str("outcome", outcome);
  if (std::string_view(outcome) == "refused") j.Str("reason", Pick(kRefusalReasons));
  if (std::string_view(outcome) == "expired") j.Str("reason", Pick(kExpiryReasons));
  Emit("ReferralDecided", h.subject, today_);
  if (std::string_view(outcome) == "accepted" && h.support_consent) {
    h.support_step = SupportStep::kStart;
    Schedule(who, Process::kSupport, today_ + rng_.Between(0, 30));
  }
}

// ------------------------------------------------------------- access pipeline

void Simulation::AccessFlow(int who) {
  switch (households_[static_cast<size_t>(who)].access_step) {
    case AccessStep::kRefer:
      return Refer(who);
    case AccessStep::kDecideReferral:
      return DecideReferral(who);
    case AccessStep::kApply:
      return Apply(who);
    case AccessStep::kCalDecision:
      return RecordCalDecision(who);
    case AccessStep::kResolveCondition:
      return ResolveCondition(who);
    case AccessStep::kAnswerOffer:
      return AnswerOffer(who);
    case AccessStep::kMoveIn:
      return StartOccupancy(who);
  }
}

void Simulation::Refer(int who) {
  Household& h = households_[static_cast<size_t>(who)];
  h.source = rng_.Weighted(kAccessSources);
  h.referral_day = today_;
  ++h.referrals;
  Data()
      .Str("referralId", "R" + std::to_string(h.referrals))
      .Str("track", "access")
      .Str("source", h.source)
      .Str("referrer", Referrer(h.source, h.commune));
  Emit("HouseholdReferred", h.subject, today_);
  h.access_step = AccessStep::kDecideReferral;
  Schedule(who, Process::kAccess, NextWorkday(today_ + rng_.Between(7, 30)));
}

void Simulation::DecideReferral(int who) {
  Household& h = households_[static_cast<size_t>(who)];
  const char* outcome =
      rng_.Weighted(std::array<Choice, 3>{{{"accepted", 85}, {"refused", 10}, {"expired", 5}}});
  const std::string_view o = outcome;
  Json& j = Data().Str("referralId", "R" + std::to_string(h.referrals)).Str("outcome", outcome);
  if (o == "refused") j.Str("reason", Pick(kRefusalReasons));
  if (o == "expired") j.Str("reason", Pick(kExpiryReasons));
  Emit("ReferralDecided", h.subject, today_);
  if (o == "accepted") {
    h.pending_priority = rng_.Chance(0.3);
    if (h.pending_priority) Schedule(who, Process::kAdmin, today_ + rng_.Between(3, 40));
    h.access_step = AccessStep::kApply;
    Schedule(who, Process::kAccess, NextWorkday(today_ + rng_.Between(7, 45)));
  } else if (++h.refused_referrals < 3 && rng_.Chance(0.45)) {
    h.access_step = AccessStep::kRefer;  // another orientation, months later
    Schedule(who, Process::kAccess, NextWorkday(today_ + rng_.Between(30, 150)));
  } else {
    h.active = false;
  }
}

void Simulation::Apply(int who) {
  Household& h = households_[static_cast<size_t>(who)];
  if (++h.applications > 5) {  // the household gives up
    h.active = false;
    return;
  }
  h.candidate = ClaimDwelling(who);
  const int session = NextWorkday(today_ + rng_.Between(7, 28));
  Data()
      .Str("referralId", "R" + std::to_string(h.referrals))
      .Str("dwellingId", dwellings_[static_cast<size_t>(h.candidate)].id)
      .Date("sessionDate", session);
  Emit("CalApplicationFiled", h.subject, today_);
  h.access_step = AccessStep::kCalDecision;
  Schedule(who, Process::kAccess, session);
}

// The application failed: the dwelling goes back to the vacant list and the
// household applies again, for another dwelling, a few weeks later.
void Simulation::ApplyAgain(int who) {
  Household& h = households_[static_cast<size_t>(who)];
  AddVacant(h.candidate);
  h.candidate = -1;
  h.access_step = AccessStep::kApply;
  Schedule(who, Process::kAccess, NextWorkday(today_ + rng_.Between(20, 60)));
}

void Simulation::RecordCalDecision(int who) {
  Household& h = households_[static_cast<size_t>(who)];
  const std::string_view decision =
      rng_.Weighted(std::array<Choice, 5>{{{"attribution", 62},
                                           {"attribution_ranked", 12},
                                           {"attribution_conditional", 10},
                                           {"non_attribution", 12},
                                           {"inadmissible", 4}}});
  Json& j = Data()
                .Str("referralId", "R" + std::to_string(h.referrals))
                .Str("dwellingId", dwellings_[static_cast<size_t>(h.candidate)].id)
                .Str("decision", decision);
  if (decision == "attribution_ranked") {
    j.Int("rank", static_cast<int>(rng_.Weighted(std::array<int, 3>{70, 20, 10})) + 1);
  } else if (decision == "attribution_conditional") {
    h.condition_deadline = today_ + rng_.Between(30, 75);
    j.Str("condition", Pick(kConditions)).Date("conditionDeadline", h.condition_deadline);
  } else if (decision == "non_attribution") {
    j.Str("reason", Pick(kNonAttributionReasons));
  } else if (decision == "inadmissible") {
    j.Str("reason", Pick(kInadmissibleReasons));
  }
  Emit("CalDecisionRecorded", h.subject, today_);
  if (decision == "attribution" || decision == "attribution_ranked") {
    h.access_step = AccessStep::kAnswerOffer;
    Schedule(who, Process::kAccess, today_ + rng_.Between(3, 14));
  } else if (decision == "attribution_conditional") {
    h.access_step = AccessStep::kResolveCondition;
    // Resolved on or before the deadline (a met condition after it is refused).
    Schedule(who, Process::kAccess, today_ + rng_.Between(7, h.condition_deadline - today_));
  } else {
    ApplyAgain(who);
  }
}

void Simulation::ResolveCondition(int who) {
  Household& h = households_[static_cast<size_t>(who)];
  const bool met = rng_.Chance(0.85);
  Data().Str("dwellingId", dwellings_[static_cast<size_t>(h.candidate)].id).Bool("met", met);
  Emit("CalConditionResolved", h.subject, today_);
  if (met) {
    h.access_step = AccessStep::kAnswerOffer;
    Schedule(who, Process::kAccess, today_ + rng_.Between(3, 10));
  } else {
    ApplyAgain(who);
  }
}

void Simulation::AnswerOffer(int who) {
  Household& h = households_[static_cast<size_t>(who)];
  const std::string_view answer =
      rng_.Weighted(std::array<Choice, 3>{{{"accepted", 88}, {"refused", 9}, {"no_answer", 3}}});
  Json& j = Data()
                .Str("dwellingId", dwellings_[static_cast<size_t>(h.candidate)].id)
                .Str("answer", answer);
  if (answer == "refused") j.Str("reason", Pick(kOfferRefusals));
  Emit("OfferAnswered", h.subject, today_);
  if (answer == "accepted") {
    h.access_step = AccessStep::kMoveIn;
    Schedule(who, Process::kAccess, today_ + rng_.Between(5, 30));
  } else {
    ApplyAgain(who);
  }
}

// Moves in under hosting or a sublease held by an association (to slide to a
// direct lease later), or directly under a lease in the household's name.
void Simulation::StartOccupancy(int who) {
  Household& h = households_[static_cast<size_t>(who)];
  const int dwelling = h.candidate;
  h.candidate = -1;
  const Dwelling& d = dwellings_[static_cast<size_t>(dwelling)];
  const auto contract = static_cast<Contract>(rng_.Weighted(std::array<int, 3>{25, 45, 30}));
  const char* association = Association(d.territory);
  Json& j =
      Data().Str("dwellingId", d.id).Str("contract", kContractNames[static_cast<int>(contract)]);
  if (contract != Contract::kDirectLease) j.Str("association", association);
  j.Int("rentCents", d.rent_cents);
  const int64_t ordinal = Emit("OccupancyStarted", h.subject, today_);
  if (rng_.Chance(0.05)) {
    PlanFix(ordinal, who, FixKind::kRent, d.rent_cents + 50 * rng_.Between(-40, 40), today_,
            today_);
  }
  MoveIn(who, dwelling, contract);

  h.support_step = SupportStep::kStart;
  h.episode_association = contract != Contract::kDirectLease && rng_.Chance(0.7)
                              ? association
                              : Association(d.territory);
  Schedule(who, Process::kSupport, today_ + (rng_.Chance(0.6) ? 0 : rng_.Between(1, 30)));
  // A sublease slides after a favourable review; hosting often switches directly.
  if (contract == Contract::kSublease || (contract == Contract::kHosting && rng_.Chance(0.6))) {
    Schedule(who, Process::kSlide, today_ + rng_.Between(180, 540));
  }
  if (rng_.Chance(0.45)) Schedule(who, Process::kDeparture, today_ + rng_.Between(365, 1460));
  if (rng_.Chance(0.3)) Schedule(who, Process::kArrears, today_ + rng_.Between(120, 720));
  Schedule(who, Process::kDifficulty, today_ + rng_.Between(30, 200));
}

// ------------------------------------------------------------------- support

std::string EpisodeId(int number) { return "E" + std::to_string(number); }

void Simulation::Support(int who) {
  Household& h = households_[static_cast<size_t>(who)];
  if (!h.active) return;
  switch (h.support_step) {
    case SupportStep::kStart:
      return StartEpisode(who);
    case SupportStep::kObjectives:
      SetObjectives(who, rng_.Between(1, 5));
      h.support_step = SupportStep::kReview;
      return Schedule(who, Process::kSupport, today_ + rng_.Between(90, 150));
    case SupportStep::kReview:
      return ReviewEpisode(who);
    case SupportStep::kResume:
      return ResumeEpisode(who);
  }
}

void Simulation::StartEpisode(int who) {
  Household& h = households_[static_cast<size_t>(who)];
  if (!h.support_consent) return;
  const std::string_view source = h.source;
  if (h.track == Track::kMaintien) {
    h.episode_kind = rng_.Weighted(kMaintienKinds);
  } else if (source == "epsm" && rng_.Chance(0.5)) {
    h.episode_kind = "housing_first";
  } else if (source == "chrs" && rng_.Chance(0.3)) {
    h.episode_kind = "chrs_hors_les_murs";
  } else {
    h.episode_kind = rng_.Weighted(kAccessKinds);
  }
  if (*h.episode_association == '\0') h.episode_association = Association(h.territory);
  ++h.episodes;
  h.episode_status = EpisodeStatus::kActive;
  h.episode_last_change = today_;
  h.episode_planned_end = today_ + rng_.Between(270, 900);
  h.objectives.clear();
  // The objective contract is often signed at the first visit, in one batch.
  const bool batch = rng_.Chance(0.3);
  if (batch) emitter_.BeginBatch();
  Data()
      .Str("episodeId", EpisodeId(h.episodes))
      .Str("kind", h.episode_kind)
      .Str("association", h.episode_association);
  Emit("SupportStarted", h.subject, today_);
  if (batch) {
    SetObjectives(who, rng_.Between(1, 5));
    emitter_.EndBatch();
    h.support_step = SupportStep::kReview;
    Schedule(who, Process::kSupport, today_ + rng_.Between(90, 150));
  } else {
    h.support_step = SupportStep::kObjectives;
    Schedule(who, Process::kSupport, today_ + rng_.Between(3, 30));
  }
}

void Simulation::SetObjectives(int who, int count) {
  Household& h = households_[static_cast<size_t>(who)];
  Json& j = Data().Str("episodeId", EpisodeId(h.episodes)).Array("objectives");
  for (int i = 0; i < count; ++i) {
    const int number = ++h.objective_count;
    j.Element()
        .Str("objectiveId", "O" + std::to_string(number))
        .Str("domain", rng_.Weighted(kDomains));
    if (rng_.Chance(0.5)) j.Date("dueDate", today_ + rng_.Between(90, 365));
    j.End();
    h.objectives.push_back({number, 0});
  }
  Emit("ObjectivesSet", h.subject, today_);
  h.episode_last_change = today_;
}

// A review wake-up of an open episode: unpause, close at the planned end,
// pause now and then, or review progress every three to five months.
void Simulation::ReviewEpisode(int who) {
  Household& h = households_[static_cast<size_t>(who)];
  if (h.episode_status == EpisodeStatus::kPaused && today_ < h.episode_planned_end &&
      rng_.Chance(0.7)) {
    Data().Str("episodeId", EpisodeId(h.episodes));
    Emit("SupportUnpaused", h.subject, today_);
    h.episode_status = EpisodeStatus::kActive;
    h.episode_last_change = today_;
    return Schedule(who, Process::kSupport, today_ + rng_.Between(20, 90));
  }
  if (today_ >= h.episode_planned_end) {
    CloseEpisode(who, h.episode_status == EpisodeStatus::kPaused
                          ? (rng_.Chance(0.5) ? "non_engagement" : "other")
                          : rng_.Weighted(kCloseReasons));
    if (rng_.Chance(0.2)) {
      h.support_step = SupportStep::kResume;
      Schedule(who, Process::kSupport, NextWorkday(today_ + rng_.Between(60, 365)));
    }
    return;
  }
  if (h.episode_status == EpisodeStatus::kActive && rng_.Chance(0.05)) {
    Data().Str("episodeId", EpisodeId(h.episodes)).Str("reason", rng_.Weighted(kPauseReasons));
    Emit("SupportPaused", h.subject, today_);
    h.episode_status = EpisodeStatus::kPaused;
    h.episode_last_change = today_;
    return Schedule(who, Process::kSupport, today_ + rng_.Between(15, 120));
  }
  // A late review is dated after the episode's last change, so the episode was
  // already in its current state, with these objectives, on that day.
  const int effective = Late(0.06, h.episode_last_change + 1);
  Json& j = Data().Str("episodeId", EpisodeId(h.episodes)).Array("progress");
  for (Objective& o : h.objectives) {
    if (o.status == 0 && rng_.Chance(0.55)) {
      o.status = 1;
    } else if (o.status == 1) {
      o.status = rng_.Chance(0.22) ? 2 : rng_.Chance(0.05) ? 3 : 1;
    }
    j.Element()
        .Str("objectiveId", "O" + std::to_string(o.number))
        .Str("status", kObjectiveStatuses[o.status])
        .End();
  }
  j.End();
  const int notes = rng_.Chance(0.7) ? rng_.Between(0, std::size(kReviewNotes) - 1) : -1;
  if (notes >= 0) j.Str("notes", kReviewNotes[notes]);
  const int next = today_ + rng_.Between(90, 150);
  if (rng_.Chance(0.5)) j.Date("nextReviewDate", next);
  const int64_t ordinal = Emit("SituationReviewed", h.subject, effective);
  if (notes >= 0 && rng_.Chance(0.03)) {
    PlanFix(ordinal, who, FixKind::kNotes, (notes + 1) % static_cast<int>(std::size(kReviewNotes)),
            effective, effective);
  }
  if (h.episode_status == EpisodeStatus::kActive && rng_.Chance(0.08)) {
    SetObjectives(who, rng_.Between(1, 2));  // ObjectivesSet needs an active episode
  }
  Schedule(who, Process::kSupport, next);
}

// Support resumes after a closed episode: a new episode with the same kind and
// association, carrying the old objectives. The resumed episode's reviews only
// name objectives set in it (whether carried ones may be reviewed is not
// something this data set relies on).
void Simulation::ResumeEpisode(int who) {
  Household& h = households_[static_cast<size_t>(who)];
  if (!h.support_consent || h.episode_status != EpisodeStatus::kClosed) return;
  const int previous = h.episodes++;
  Data()
      .Str("episodeId", EpisodeId(h.episodes))
      .Str("previousEpisodeId", EpisodeId(previous))
      .Str("reason", Pick(kResumeReasons));
  Emit("SupportResumed", h.subject, today_);
  h.episode_status = EpisodeStatus::kActive;
  h.episode_last_change = today_;
  h.episode_planned_end = today_ + rng_.Between(180, 720);
  h.objectives.clear();
  h.support_step = SupportStep::kObjectives;
  Schedule(who, Process::kSupport, today_ + rng_.Between(7, 30));
}

void Simulation::CloseEpisode(int who, const char* reason) {
  Household& h = households_[static_cast<size_t>(who)];
  Data().Str("episodeId", EpisodeId(h.episodes)).Str("reason", reason);
  Emit("SupportClosed", h.subject, today_);
  h.episode_status = EpisodeStatus::kClosed;
  h.episode_last_change = today_;
  Cancel(who, Process::kSupport);
}

// ----------------------------------------------------- bail glissant, departure

void Simulation::Slide(int who) {
  Household& h = households_[static_cast<size_t>(who)];
  if (h.home < 0) return;
  const Dwelling& d = dwellings_[static_cast<size_t>(h.home)];
  if (h.contract == Contract::kHosting ||
      (h.contract == Contract::kSublease && h.favourable_review)) {
    Data().Str("dwellingId", d.id).Str("to", "direct_lease");
    Emit("LeaseSwitched", h.subject, today_);
    h.contract = Contract::kDirectLease;
    return;
  }
  if (h.contract != Contract::kSublease) return;
  const std::string_view outcome = rng_.Weighted(
      std::array<Choice, 3>{{{"favourable", 65}, {"postponed", 20}, {"unfavourable", 15}}});
  Json& j = Data().Str("outcome", outcome);
  int next = 0;
  if (outcome == "favourable") {
    h.favourable_review = true;
    next = NextWorkday(today_ + rng_.Between(0, 45));
  } else if (outcome == "postponed") {
    next = NextWorkday(today_ + rng_.Between(60, 120));
    j.Date("nextReviewDate", next);
  } else {
    next = NextWorkday(today_ + rng_.Between(90, 180));
    if (rng_.Chance(0.5)) j.Date("nextReviewDate", next);
  }
  Emit("SlideReviewHeld", h.subject, today_);
  Schedule(who, Process::kSlide, next);
}

void Simulation::Depart(int who) {
  Household& h = households_[static_cast<size_t>(who)];
  if (h.home < 0) return;
  if (h.stage != Stage::kNone && h.stage != Stage::kClosed) {
    // Nobody leaves in the middle of a court procedure in this data set: it
    // would leave the procedure unable to end with eviction_carried_out.
    return Schedule(who, Process::kDeparture, today_ + rng_.Between(60, 120));
  }
  const std::string_view reason = rng_.Weighted(std::array<Choice, 6>{{{"voluntary_departure", 30},
                                                                       {"transfer", 12},
                                                                       {"rehoused", 25},
                                                                       {"death", 5},
                                                                       {"abandonment", 8},
                                                                       {"institution", 8}}});
  const char* destination = "unknown";
  if (reason == "transfer" || reason == "rehoused") {
    destination = "permanent";
  } else if (reason == "institution") {
    destination = "institutional";
  } else if (reason == "voluntary_departure") {
    destination = rng_.Weighted(
        std::array<Choice, 3>{{{"permanent", 50}, {"temporary", 20}, {"unknown", 30}}});
  } else if (reason == "abandonment" && rng_.Chance(0.2)) {
    destination = "temporary";
  }
  Data()
      .Str("dwellingId", dwellings_[static_cast<size_t>(h.home)].id)
      .Str("reason", reason)
      .Str("destination", destination);
  Emit("OccupancyEnded", h.subject, today_);
  Vacate(who);
  if (h.episode_status == EpisodeStatus::kActive || h.episode_status == EpisodeStatus::kPaused) {
    CloseEpisode(who, reason == "death" ? "death" : "moved_out");
  }
  h.active = false;
  Cancel(who, Process::kSlide);
  // Arrears stay open after the departure until they are cleared, if ever.
  if (h.arrears_open && reason != "death" && rng_.Chance(0.4)) {
    h.arrears_step = ArrearsStep::kClear;
    Schedule(who, Process::kArrears, today_ + rng_.Between(60, 365));
  } else {
    Cancel(who, Process::kArrears);
  }
}

// ------------------------------------------------------ arrears and eviction

void Simulation::Arrears(int who) {
  switch (households_[static_cast<size_t>(who)].arrears_step) {
    case ArrearsStep::kRaise:
      return RaiseArrears(who);
    case ArrearsStep::kManage:
      return ManageArrears(who);
    case ArrearsStep::kClear:
      return ClearArrears(who);
    case ArrearsStep::kProcedure:
      return ProcedureStep(who);
  }
}

void Simulation::RaiseArrears(int who) {
  Household& h = households_[static_cast<size_t>(who)];
  if (h.home < 0 || h.arrears_open || (h.stage != Stage::kNone && h.stage != Stage::kClosed)) {
    return;
  }
  const Dwelling& d = dwellings_[static_cast<size_t>(h.home)];
  const int months = 1 + static_cast<int>(rng_.Weighted(std::array<int, 6>{15, 30, 25, 15, 8, 7}));
  h.arrears_cents = d.rent_cents * months - 50 * rng_.Between(0, d.rent_cents / 100);
  Data().Str("dwellingId", d.id).Int("amountCents", h.arrears_cents).Int("monthsUnpaid", months);
  const int64_t ordinal = Emit("ArrearsAlertRaised", h.subject, today_);
  if (rng_.Chance(0.04)) {
    PlanFix(ordinal, who, FixKind::kAmount, h.arrears_cents + 100 * rng_.Between(1, 300), today_,
            today_);
  }
  h.arrears_open = true;
  h.ccapex_day = -1;
  h.procedure = rng_.Chance((h.track == Track::kMaintien ? 0.06 : 0.03) + 0.05 * months);
  h.need_ccapex = h.procedure || rng_.Chance(0.3);
  h.need_plan = rng_.Chance(0.6);
  h.need_fsl = rng_.Chance(0.4);
  // A household housed through the access track comes under maintien once in arrears.
  if (h.track == Track::kAccess && !h.maintien_referral && rng_.Chance(0.4)) {
    h.maintien_referral = true;
    const std::string referral = "R" + std::to_string(++h.referrals);
    Data()
        .Str("referralId", referral)
        .Str("track", "maintien")
        .Str("source", "agency")
        .Str("referrer", Referrer("agency", d.commune));
    Emit("HouseholdReferred", h.subject, today_);
    Data().Str("referralId", referral).Str("outcome", "accepted");
    Emit("ReferralDecided", h.subject, today_);
  }
  h.arrears_step = ArrearsStep::kManage;
  Schedule(who, Process::kArrears, NextWorkday(today_ + rng_.Between(10, 40)));
}

// One management step per wake-up: CCAPEX referral, repayment plan, FSL aid;
// then either the arrears get cleared or the landlord goes to court.
void Simulation::ManageArrears(int who) {
  Household& h = households_[static_cast<size_t>(who)];
  if (!h.arrears_open) return;
  if (h.need_ccapex) {
    Data();
    Emit("CcapexReferred", h.subject, today_);
    h.ccapex_day = today_;
    h.need_ccapex = false;
  } else if (h.need_plan) {
    const int months = rng_.Between(6, 36);
    Data().Int("monthlyCents", (h.arrears_cents + months - 1) / months).Int("months", months);
    Emit("RepaymentPlanAgreed", h.subject, today_);
    h.need_plan = false;
  } else if (h.need_fsl) {
    const bool granted = rng_.Chance(0.75);
    Json& j = Data().Bool("granted", granted);
    if (granted) j.Int("amountCents", std::min(h.arrears_cents, 100 * rng_.Between(200, 1500)));
    Emit("FslAidDecided", h.subject, today_);
    h.need_fsl = false;
  } else if (h.procedure) {
    h.arrears_step = ArrearsStep::kProcedure;
    return Schedule(who, Process::kArrears, NextWorkday(today_ + rng_.Between(15, 60)));
  } else {
    h.arrears_step = ArrearsStep::kClear;
    return Schedule(who, Process::kArrears, today_ + rng_.Between(60, 540));
  }
  Schedule(who, Process::kArrears, NextWorkday(today_ + rng_.Between(10, 50)));
}

void Simulation::ClearArrears(int who) {
  Household& h = households_[static_cast<size_t>(who)];
  if (!h.arrears_open) return;
  Data();
  Emit("ArrearsCleared", h.subject, today_);
  h.arrears_open = false;
  if (h.home >= 0 && rng_.Chance(h.track == Track::kMaintien ? 0.45 : 0.3)) {
    h.arrears_step = ArrearsStep::kRaise;
    Schedule(who, Process::kArrears, today_ + rng_.Between(90, 720));
  }
}

void Simulation::RecordStep(int who, const char* step, Stage next, int hearing_day) {
  Household& h = households_[static_cast<size_t>(who)];
  Json& j = Data().Str("step", step);
  if (hearing_day >= 0) j.Date("hearingDate", hearing_day);
  Emit("EvictionStepRecorded", h.subject, today_);
  h.stage = next;
}

// A step that closes the procedure without eviction: the arrears are then
// managed again (plan, sometimes FSL) until cleared.
void Simulation::EndProcedure(int who, const char* step) {
  Household& h = households_[static_cast<size_t>(who)];
  RecordStep(who, step, Stage::kClosed);
  h.procedure = false;
  h.need_plan = true;
  h.need_fsl = rng_.Chance(0.4);
  h.arrears_step = ArrearsStep::kManage;
  Schedule(who, Process::kArrears, NextWorkday(today_ + rng_.Between(7, 30)));
}

// Follows events.md §4 one step per wake-up.
void Simulation::ProcedureStep(int who) {
  Household& h = households_[static_cast<size_t>(who)];
  auto next_in = [&](int lo, int hi) {
    Schedule(who, Process::kArrears, NextWorkday(today_ + rng_.Between(lo, hi)));
  };
  switch (h.stage) {
    case Stage::kNone:
    case Stage::kClosed: {
      if (!h.arrears_open || h.home < 0) {
        h.procedure = false;
        return;
      }
      if (h.ccapex_day < 0) {  // the summons will need a CCAPEX referral first
        Data();
        Emit("CcapexReferred", h.subject, today_);
        h.ccapex_day = today_;
      }
      RecordStep(who, "payment_order", Stage::kPaymentOrder);
      // The summons needs the CCAPEX referral at least two calendar months
      // earlier; a few days' margin keeps clear of any month-end reading.
      const int summons =
          std::max(today_ + rng_.Between(30, 75), AddMonths(h.ccapex_day, 2) + rng_.Between(3, 20));
      return Schedule(who, Process::kArrears, NextWorkday(summons));
    }
    case Stage::kPaymentOrder: {
      const int hearing = NextWorkday(today_ + rng_.Between(42, 84));
      RecordStep(who, "summons", Stage::kSummons, hearing);
      return Schedule(who, Process::kArrears, hearing);
    }
    case Stage::kSummons: {
      const std::string_view judgment = rng_.Weighted(std::array<Choice, 3>{
          {{"judgment_delays", 40}, {"judgment_rejected", 10}, {"judgment_termination", 50}}});
      if (judgment != "judgment_termination") return EndProcedure(who, judgment.data());
      RecordStep(who, "judgment_termination", Stage::kJudgmentTermination);
      return next_in(30, 90);
    }
    case Stage::kJudgmentTermination:
      if (rng_.Chance(0.2)) return EndProcedure(who, "cohesion_protocol_signed");
      RecordStep(who, "order_to_leave", Stage::kOrderToLeave);
      return next_in(60, 120);
    case Stage::kOrderToLeave:
      if (rng_.Chance(0.15)) return EndProcedure(who, "cohesion_protocol_signed");
      RecordStep(who, "police_requested", Stage::kPoliceRequested);
      return next_in(30, 120);
    case Stage::kPoliceRequested:
      if (rng_.Chance(0.65)) {
        RecordStep(who, "police_granted", Stage::kPoliceGranted);
        return next_in(20, 90);
      }
      RecordStep(who, "police_refused", Stage::kPoliceRefused);
      return next_in(60, 120);
    case Stage::kPoliceRefused:
      if (rng_.Chance(0.4)) return EndProcedure(who, "cohesion_protocol_signed");
      RecordStep(who, "police_requested", Stage::kPoliceRequested);
      return next_in(30, 90);
    case Stage::kPoliceGranted:
      if (InWinterTruce(today_)) {  // no eviction from 1 November to 31 March
        return Schedule(who, Process::kArrears,
                        NextWorkday(NextSpring(today_) + rng_.Between(0, 40)));
      }
      if (rng_.Chance(0.35)) return EndProcedure(who, "cohesion_protocol_signed");
      return Evict(who);
  }
}

// eviction_carried_out ends the occupancy itself (reason eviction, destination
// unknown): no OccupancyEnded is recorded.
void Simulation::Evict(int who) {
  Household& h = households_[static_cast<size_t>(who)];
  if (h.home < 0) return;
  RecordStep(who, "eviction_carried_out", Stage::kClosed);
  h.procedure = false;
  Vacate(who);
  if (h.episode_status == EpisodeStatus::kActive || h.episode_status == EpisodeStatus::kPaused) {
    CloseEpisode(who, "moved_out");
  }
  h.active = false;
  Cancel(who, Process::kSlide);
  Cancel(who, Process::kDeparture);
  if (rng_.Chance(0.3)) {
    h.arrears_step = ArrearsStep::kClear;
    Schedule(who, Process::kArrears, today_ + rng_.Between(90, 540));
  }
}

// ------------------------------------------------------- difficulties, admin

void Simulation::ReportDifficulty(int who) {
  Household& h = households_[static_cast<size_t>(who)];
  if (h.home < 0 || !h.active) return;
  const char* category = std::string_view(h.source) == "epsm" && rng_.Chance(0.4)
                             ? "mental_health"
                             : rng_.Weighted(kDifficulties);
  const int severity = 1 + static_cast<int>(rng_.Weighted(std::array<int, 3>{50, 35, 15}));
  const int effective = Late(0.08, h.registered_on);
  Data().Str("category", category).Int("severity", severity);
  const int64_t ordinal = Emit("DifficultyReported", h.subject, effective);
  const int draw = rng_.Chance(0.035) ? rng_.Between(0, 99) : 100;
  if (draw < 50) {
    PlanFix(ordinal, who, FixKind::kSeverity, severity % 3 + 1, effective, h.registered_on);
  } else if (draw < 90) {
    PlanFix(ordinal, who, FixKind::kDifficultyDate, rng_.Between(1, 14), effective,
            h.registered_on);
  } else if (draw < 100) {
    PlanFix(ordinal, who, FixKind::kRetract, 0, effective, h.registered_on);
  }
  // Difficulties come in spells rather than forever: about six reports a household.
  if (rng_.Chance(0.85)) Schedule(who, Process::kDifficulty, today_ + rng_.Between(60, 240));
}

// Paperwork with no rule attached: priority recognition, consents, transfers.
void Simulation::Admin(int who) {
  Household& h = households_[static_cast<size_t>(who)];
  if (!h.active) return;
  if (h.pending_priority) {
    h.pending_priority = false;
    const std::string_view source = h.source;
    const char* basis = source == "dalo"      ? "dalo"
                        : source == "pdalhpd" ? "pdalhpd"
                                              : rng_.Weighted(kPriorityBases);
    Json& j = Data().Str("basis", basis);
    if (rng_.Chance(0.5)) j.Date("offerDeadline", today_ + rng_.Between(90, 180));
    Emit("PriorityRecognised", h.subject, Late(0.3, h.referral_day));
    return Schedule(who, Process::kAdmin, today_ + rng_.Between(90, 400));
  }
  const int draw = rng_.Between(0, 99);
  if (draw < 20) {
    h.data_sharing = !h.data_sharing;
    Consent(who, "data_sharing", h.data_sharing, Late(0.2, h.registered_on));
  } else if (draw < 26) {
    Consent(who, "keep_history", true, today_);
  } else if (draw < 31 && !h.transferred) {
    h.transferred = true;
    h.territory = (h.territory + rng_.Between(1, 2)) % 3;
    Data().Str("territory", kTerritories[static_cast<size_t>(h.territory)]);
    Emit("CaseTransferred", h.subject, today_);
  }
  Schedule(who, Process::kAdmin, today_ + rng_.Between(120, 400));
}

// ------------------------------------------------------ fixes and territories

constexpr const char* kTerritorySubjects[] = {"territory/lille", "territory/sud",
                                              "territory/flandres"};

void Simulation::ApplyFix(const Fix& fix) {
  const std::string_view subject =
      fix.owner >= 0 ? std::string_view(households_[static_cast<size_t>(fix.owner)].subject)
                     : std::string_view(kTerritorySubjects[-1 - fix.owner]);
  std::string target;
  emitter_.AppendUuid(&target, fix.target);
  if (fix.kind == FixKind::kRetract) {
    Data().Str("targetId", target).Str("reason", Pick(kRetractionReasons));
    Emit("EventRetracted", subject, today_);
    return;
  }
  if (fix.kind == FixKind::kDifficultyDate || fix.kind == FixKind::kTerritoryDate) {
    // Only ever earlier, and never before the stream's registration: a fact
    // with no rule of its own then stays valid on its new day.
    const int day = std::max(fix.floor_day, fix.effective_day - fix.value);
    if (day >= fix.effective_day) return;
    Data().Str("targetId", target).Date("effectiveDate", day).Str("reason", "Date erronée");
    Emit("EventCorrected", subject, today_);
    return;
  }
  Json& j = Data().Str("targetId", target).Object("data");
  switch (fix.kind) {
    case FixKind::kSeverity:
      j.Int("severity", fix.value);
      break;
    case FixKind::kRent:
      j.Int("rentCents", fix.value);
      break;
    case FixKind::kAmount:
      j.Int("amountCents", fix.value);
      break;
    case FixKind::kNotes:
      j.Str("notes", kReviewNotes[fix.value]);
      break;
    default:
      j.Int(fix.field, fix.value);
      break;
  }
  j.End().Str("reason", Pick(kCorrectionReasons));
  Emit("EventCorrected", subject, today_);
}

// The coordinators' own activity: a few trainings, consultations and partner
// meetings a month per territory, some entered late, some by a named coordinator.
void Simulation::TerritoryActivity(int territory) {
  const char* subject = kTerritorySubjects[territory];
  const std::string_view name = kTerritories[static_cast<size_t>(territory)];
  const int effective = Late(0.1, start_day_);
  std::string actor;
  if (rng_.Chance(0.6)) {
    actor = "{\"id\":\"coord-" + std::string(name) + "-" + std::to_string(rng_.Between(1, 2)) +
            "\",\"role\":\"coordinator\",\"org\":\"" + std::string(name) + "\"}";
  }
  const size_t kind = rng_.Weighted(std::array<int, 3>{30, 25, 45});
  const char* type = nullptr;
  const char* count_field = nullptr;
  int count = 0;
  if (kind == 0) {
    type = "StaffTrainingHeld";
    count_field = "attendees";
    count = rng_.Between(5, 25);
    Data().Str("topic", Pick(kTrainingTopics)).Int(count_field, count);
  } else if (kind == 1) {
    type = "TenantConsultationHeld";
    count_field = "participants";
    count = rng_.Between(4, 40);
    Data()
        .Str("tenantAssociation", Pick(kTenantAssociations))
        .Str("topic", Pick(kConsultationTopics))
        .Int(count_field, count);
  } else {
    type = "PartnerMeetingHeld";
    Json& j = Data().Array("partners");
    const int first = rng_.Between(0, static_cast<int>(std::size(kPartners)) - 1);
    const int n = rng_.Between(1, 4);
    for (int i = 0; i < n; ++i) j.Text(kPartners[(first + i * 2) % std::size(kPartners)]);
    j.End().Str("topic", Pick(kMeetingTopics));
  }
  const int64_t ordinal =
      Emit(type, subject, effective, {.expect_new_stream = false, .actor = actor});
  ++territory_events_;
  const int owner = -1 - territory;
  if (count_field != nullptr && rng_.Chance(0.06)) {
    PlanFix(ordinal, owner, FixKind::kCount, std::max(1, count + rng_.Between(-3, 3)), effective,
            effective, count_field);
  } else if (rng_.Chance(0.03)) {
    PlanFix(ordinal, owner, FixKind::kTerritoryDate, rng_.Between(1, 7), effective, start_day_);
  }
  Schedule(territory, Process::kTerritory, NextWorkday(today_ + rng_.Between(3, 12)));
}

// ------------------------------------------------------------------ scaling

GenOptions Sanitized(const GenOptions& options) {
  GenOptions o = options;
  o.years = std::clamp(o.years, 1, 100);
  o.start_year = std::clamp(o.start_year, 1900, 9000);
  o.access_per_year = std::max(o.access_per_year, 0);
  o.maintien_per_year = std::max(o.maintien_per_year, 0);
  return o;
}

// Counting passes (nothing formatted or written) find a household scale giving
// at least target_events; the simulation is deterministic for a given scale,
// so the final pass reproduces the count exactly.
double ChooseScale(const GenOptions& options) {
  const auto target = static_cast<double>(options.target_events);
  const SimStats pilot = Simulation(options, 1.0, nullptr).Run();
  const auto fixed = static_cast<double>(pilot.territory_events);
  const double per_unit = std::max(1.0, static_cast<double>(pilot.gen.events) - fixed);
  double scale = std::max(0.0, (target - fixed) / per_unit) * 1.004;
  for (int attempt = 0; attempt < 40; ++attempt) {
    const SimStats trial = Simulation(options, scale, nullptr).Run();
    if (trial.gen.events >= options.target_events) return scale;
    const double household_events =
        std::max(1.0, static_cast<double>(trial.gen.events - trial.territory_events));
    const double wanted =
        (target - static_cast<double>(trial.territory_events)) / household_events * 1.002;
    scale = std::max(scale * wanted, scale + 0.01);
  }
  return scale;
}

}  // namespace

GenStats Generate(const GenOptions& options, std::ostream& out) {
  const GenOptions sane = Sanitized(options);
  const double scale = sane.target_events > 0 ? ChooseScale(sane) : 1.0;
  return Simulation(sane, scale, &out).Run().gen;
}

}  // namespace relais::tools
