// Population: arrivals, the dwelling stock and its vacancies, referrers, and
// the registration of a household.

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "generate/simulation.h"

namespace relais::tools::gen {

namespace {

// Appends a non-negative value zero-padded to at least `width` digits (ids).
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

}  // namespace

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
    const int first = FirstOfJanuary(options_.start_year + y);
    const int length = FirstOfJanuary(options_.start_year + y + 1) - first;
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
      // One draw per statement: the order in which a call's arguments are
      // evaluated is unspecified (gcc and clang differ), and the data set
      // must be the same whatever compiled the generator.
      const int effective_day = start_day_ - rng_.Between(0, 3 * 365);
      const int typology = rng_.Between(0, 4);
      const int commune = PickCommune(t);
      const int d = NewDwelling(t, commune, typology, effective_day, /*may_reserve=*/true);
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
  JsonWriter& j = Data()
                      .Key("territory")
                      .String(kTerritories[static_cast<size_t>(territory)])
                      .Key("commune")
                      .String(kCommunes[commune].name)
                      .Key("typology")
                      .String(std::string("T") + static_cast<char>('1' + typology))
                      .Key("adaptations")
                      .BeginArray();
  for (const char* a : kAdaptations[adaptation]) {
    if (a != nullptr) j.String(a);
  }
  j.EndArray().Key("rentCents").Int(d.rent_cents);
  Emit("DwellingRegistered", d.subject, effective_day, {.expect_new_stream = !batch, .actor = {}});
  if (d.reserved) {
    Data().Key("convention").String(Pick(kConventions));
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
    Data().Key("convention").String(Pick(kConventions));
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
  // One draw per statement, as in RegisterStock: the operands of + and - are
  // unsequenced too.
  const std::string last_name = Pick(kLastNames);
  const std::string name = std::string(Pick(kFirstNames)) + " " + last_name;
  const int age_years = rng_.Between(19, 74);
  const int birth = today_ - age_years * 365 - rng_.Between(0, 364);

  int home = -1;
  if (h.track == Track::kMaintien) {
    home = NewDwelling(h.territory, h.commune, TypologyFor(h), today_, /*may_reserve=*/false);
  }
  // Registration and consents often arrive together from the intake form.
  const bool batch = rng_.Chance(0.6);
  if (batch) emitter_.BeginBatch();
  Data()
      .Key("territory")
      .String(kTerritories[static_cast<size_t>(h.territory)])
      .Key("commune")
      .String(kCommunes[h.commune].name)
      .Key("adults")
      .Int(h.adults)
      .Key("children")
      .Int(h.children)
      .Key("headOfHousehold")
      .BeginObject()
      .Key("name")
      .String(name)
      .Key("birthDate")
      .String(DayText(birth))
      .EndObject();
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
  Data().Key("purpose").String(purpose).Key("given").Bool(given);
  const int64_t ordinal = Emit("ConsentRecorded", h.subject, effective_day);
  // A data-sharing consent entered in the wrong file and later retracted is a
  // harmless slip: no rule reads that consent.
  if (std::string_view(purpose) == "data_sharing" && rng_.Chance(0.02)) {
    PlanFix(ordinal, who, FixKind::kRetract, 0, effective_day, h.registered_on);
  }
}

}  // namespace relais::tools::gen
