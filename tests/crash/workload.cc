#include "crash/workload.h"

#include <atomic>
#include <condition_variable>
#include <cstdio>
#include <deque>
#include <mutex>
#include <random>
#include <thread>

namespace relais::crash {

std::string EventSpec::Json() const {
  return "{\"id\":\"" + id + "\",\"type\":\"" + type + "\",\"subject\":\"" + subject +
         "\",\"effectiveDate\":\"" + date + "\",\"data\":" + data + "}";
}

std::string Request::Body() const {
  if (!batch) return events.at(0).Json();
  std::string s = "[";
  for (size_t i = 0; i < events.size(); ++i) {
    if (i) s += ",";
    s += events[i].Json();
  }
  return s + "]";
}

namespace {

// splitmix64: one well-mixed seed per (seed, iteration), so that iteration i
// of seed s is the same workload whichever iterations ran before it.
uint64_t Mix(uint64_t x) {
  x += 0x9e3779b97f4a7c15ull;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
  return x ^ (x >> 31);
}

// Personal data with accents and quotes-free text (the JSON is built by hand).
const char* const kNames[] = {"Élodie Martin", "Jean Dupont", "Fatima Benali", "Kévin Lefèvre",
                              "Aïcha Diallo", "Łukasz Nowak", "Zoé Caron", "Noël Petit"};
const char* const kCommunes[] = {"Douai", "Lille", "Dunkerque", "Cambrai", "Roubaix"};
const char* const kTerritories[] = {"lille", "sud", "flandres"};

class Builder {
 public:
  Builder(uint64_t seed, int iteration) : rng_(Mix(seed ^ Mix(static_cast<uint64_t>(iteration)))) {
    std::snprintf(tag_, sizeof tag_, "%08x", static_cast<unsigned>(seed & 0xffffffffu));
    seed32_ = static_cast<unsigned>(seed & 0xffffffffu);
    iteration_ = static_cast<unsigned>(iteration);
  }
  int Pick(int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(rng_); }
  std::string NewId() {
    char buf[64];
    std::snprintf(buf, sizeof buf, "%08x-%04x-4%03x-8000-%012llx", seed32_, iteration_ & 0xffff,
                  (iteration_ >> 16) & 0xfff, static_cast<unsigned long long>(++counter_));
    return buf;
  }
  std::string Subject(const char* kind, const char* prefix, int n) {
    return std::string(kind) + "/c" + tag_ + "-i" + std::to_string(iteration_) + "-" + prefix +
           std::to_string(n);
  }
  static std::string Date(int month, int day) {
    char buf[32];  // room for any int, to keep -Wformat-truncation quiet
    std::snprintf(buf, sizeof buf, "2024-%02d-%02d", month, day);
    return buf;
  }
  EventSpec Ev(std::string type, std::string subject, std::string date, std::string data) {
    return EventSpec{NewId(), std::move(type), std::move(subject), std::move(date), std::move(data)};
  }
  int Add(Workload* w, std::vector<EventSpec> events, bool batch, Expect expect) {
    Request r;
    r.index = static_cast<int>(w->requests.size());
    r.events = std::move(events);
    r.batch = batch;
    r.expect = expect;
    w->requests.push_back(std::move(r));
    return w->requests.back().index;
  }
  std::string Registration() {
    char birth[48];
    std::snprintf(birth, sizeof birth, "%04d-%02d-%02d", Pick(1940, 2004), Pick(1, 12), Pick(1, 28));
    return std::string("{\"territory\":\"") + kTerritories[Pick(0, 2)] + "\",\"commune\":\"" +
           kCommunes[Pick(0, 4)] + "\",\"adults\":" + std::to_string(Pick(1, 3)) +
           ",\"children\":" + std::to_string(Pick(0, 4)) + ",\"headOfHousehold\":{\"name\":\"" +
           kNames[Pick(0, 7)] + " " + std::to_string(Pick(1, 99999)) + "\",\"birthDate\":\"" +
           birth + "\"}}";
  }
  std::string Referral() {
    return std::string("{\"referralId\":\"R1\",\"track\":\"") + (Pick(0, 1) ? "access" : "maintien") +
           "\",\"source\":\"siao\",\"referrer\":\"Association n°" + std::to_string(Pick(1, 999)) +
           "\"}";
  }

 private:
  std::mt19937_64 rng_;
  char tag_[16];
  unsigned seed32_ = 0, iteration_ = 0;
  uint64_t counter_ = 0;
};

}  // namespace

Workload MakeWorkload(uint64_t seed, int iteration, int households) {
  Builder b(seed, iteration);
  Workload w;
  for (int h = 0; h < households; ++h) {
    HouseholdPlan p;
    p.subject = b.Subject("household", "h", h);
    w.subjects.push_back(p.subject);
    const int month = b.Pick(1, 9), day = b.Pick(1, 20);
    p.reg = b.Add(&w, {b.Ev("HouseholdRegistered", p.subject, b.Date(month, day), b.Registration())},
                  false, Expect::kAccept);
    // Either outcome: it may be judged before the registration it races.
    p.ref = b.Add(&w, {b.Ev("HouseholdReferred", p.subject, b.Date(month, day), b.Referral())},
                  false, Expect::kEither);
    auto date = [&](int plus) { return Builder::Date(month, day + plus); };
    const std::string assoc = "Asso " + std::to_string(b.Pick(1, 9));
    // Consent and support start, atomically.
    p.follow.push_back(b.Add(
        &w,
        {b.Ev("ConsentRecorded", p.subject, date(1), R"({"purpose":"support","given":true})"),
         b.Ev("SupportStarted", p.subject, date(1),
              R"({"episodeId":"E1","kind":"asll","association":")" + assoc + "\"}")},
        true, Expect::kAccept));
    // A batch whose second event breaks a rule: nothing of it may be recorded.
    p.follow.push_back(b.Add(
        &w,
        {b.Ev("DifficultyReported", p.subject, date(2), R"({"category":"isolation","severity":2})"),
         b.Ev("SupportPaused", p.subject, date(2), R"({"episodeId":"E9","reason":"other"})")},
        true, Expect::kRefuse));
    // A decision with a personal free-text reason.
    p.follow.push_back(b.Add(
        &w,
        {b.Ev("ReferralDecided", p.subject, date(3),
              R"({"referralId":"R1","outcome":"refused","reason":"Dossier incomplet n°)" +
                  std::to_string(b.Pick(1, 9999)) + "\"}")},
        false, Expect::kAccept));
    // A single refused request (no such referral).
    p.follow.push_back(b.Add(
        &w, {b.Ev("ReferralDecided", p.subject, date(3), R"({"referralId":"R404","outcome":"accepted"})")},
        false, Expect::kRefuse));
    // A health difficulty, a pause, then a correction of the difficulty.
    EventSpec difficulty =
        b.Ev("DifficultyReported", p.subject, date(4),
             R"({"category":"mental_health","severity":)" + std::to_string(b.Pick(1, 3)) + "}");
    const std::string target = difficulty.id;
    p.follow.push_back(b.Add(&w, {std::move(difficulty)}, false, Expect::kAccept));
    p.follow.push_back(b.Add(
        &w,
        {b.Ev("SupportPaused", p.subject, date(5), R"({"episodeId":"E1","reason":"hospitalisation"})")},
        false, Expect::kAccept));
    p.follow.push_back(b.Add(
        &w,
        {b.Ev("EventCorrected", p.subject, date(6),
              R"({"targetId":")" + target +
                  R"(","data":{"category":"isolation"},"reason":"Erreur de saisie, voir Mme )" +
                  std::to_string(b.Pick(1, 999)) + "\"}")},
        false, Expect::kAccept));
    w.households.push_back(std::move(p));
  }
  // The bulk lane: dwellings, territory activity, whole households in one batch.
  const int bulk = households / 2 + 4;
  for (int k = 0; k < bulk; ++k) {
    int choice = b.Pick(0, 2);
    if (choice == 0) {
      std::string subject = b.Subject("dwelling", "d", k);
      w.subjects.push_back(subject);
      w.bulk.push_back(b.Add(
          &w,
          {b.Ev("DwellingRegistered", subject, Builder::Date(b.Pick(1, 9), b.Pick(1, 28)),
                std::string("{\"territory\":\"") + kTerritories[b.Pick(0, 2)] +
                    "\",\"commune\":\"Douai\",\"typology\":\"T" + std::to_string(b.Pick(1, 6)) +
                    "\",\"adaptations\":[],\"rentCents\":" + std::to_string(b.Pick(20000, 90000)) +
                    "}")},
          false, Expect::kAccept));
    } else if (choice == 1) {
      std::string subject = std::string("territory/") + kTerritories[b.Pick(0, 2)];
      w.bulk.push_back(b.Add(
          &w,
          {b.Ev("StaffTrainingHeld", subject, Builder::Date(b.Pick(1, 9), b.Pick(1, 28)),
                R"({"topic":"Prévention des expulsions","attendees":)" +
                    std::to_string(b.Pick(1, 30)) + "}")},
          false, Expect::kAccept));
    } else {
      std::string subject = b.Subject("household", "b", k);
      w.subjects.push_back(subject);
      std::string d = Builder::Date(b.Pick(1, 9), b.Pick(1, 28));
      w.bulk.push_back(b.Add(&w,
                             {b.Ev("HouseholdRegistered", subject, d, b.Registration()),
                              b.Ev("HouseholdReferred", subject, d, b.Referral())},
                             true, Expect::kAccept));
    }
  }
  for (const char* t : kTerritories) w.subjects.push_back(std::string("territory/") + t);
  return w;
}

std::vector<Outcome> Sender::SendBulk(const std::vector<const Request*>& rs) {
  std::vector<Outcome> out;
  for (const Request* r : rs) {
    out.push_back(Send(*r));
    if (out.back().kind == Outcome::kUnknown) break;
  }
  return out;
}

namespace {

// Two threads meet here before each race so that both requests leave at
// the same moment. `Abort` releases a waiter whose partner stopped.
class Barrier {
 public:
  // False if aborted.
  bool Arrive() {
    std::unique_lock<std::mutex> lock(mu_);
    if (aborted_) return false;
    const uint64_t gen = generation_;
    if (++arrived_ == 2) {
      arrived_ = 0;
      ++generation_;
      cv_.notify_all();
      return true;
    }
    cv_.wait(lock, [&] { return generation_ != gen || aborted_; });
    return generation_ != gen;
  }
  void Abort() {
    std::lock_guard<std::mutex> lock(mu_);
    aborted_ = true;
    cv_.notify_all();
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  int arrived_ = 0;
  uint64_t generation_ = 0;
  bool aborted_ = false;
};

struct Shared {
  std::atomic<bool> dead{false};  // a sender answered kUnknown
  std::mutex mu;
  std::condition_variable cv;
  std::deque<std::pair<int, Outcome::Kind>> ready;  // household, referral outcome
  int pairs_left = 0;
};

}  // namespace

void RunWorkload(const Workload& w, Sender* sender, Recorder* recorder) {
  constexpr int kPairs = 3, kFollowers = 2;
  Shared sh;
  sh.pairs_left = kPairs;
  auto send = [&](int index) {
    recorder->Sending(index);
    Outcome o = sender->Send(w.requests[static_cast<size_t>(index)]);
    recorder->Record(index, o);
    if (o.kind == Outcome::kUnknown) {
      sh.dead = true;
      sh.cv.notify_all();
    }
    return o;
  };
  std::vector<std::thread> threads;
  std::vector<std::unique_ptr<Barrier>> barriers;
  for (int p = 0; p < kPairs; ++p) barriers.push_back(std::make_unique<Barrier>());
  std::vector<Outcome::Kind> ref_kind(w.households.size(), Outcome::kUnknown);
  for (int p = 0; p < kPairs; ++p) {
    for (int side = 0; side < 2; ++side) {
      threads.emplace_back([&, p, side] {
        Barrier& bar = *barriers[static_cast<size_t>(p)];
        for (size_t h = static_cast<size_t>(p); h < w.households.size(); h += kPairs) {
          if (sh.dead || !bar.Arrive()) break;
          const HouseholdPlan& plan = w.households[h];
          Outcome o = send(side == 0 ? plan.reg : plan.ref);
          if (side == 1) ref_kind[h] = o.kind;
          if (sh.dead || !bar.Arrive()) break;  // both answered
          if (side == 0) {
            std::lock_guard<std::mutex> lock(sh.mu);
            sh.ready.emplace_back(static_cast<int>(h), ref_kind[h]);
            sh.cv.notify_all();
          }
        }
        bar.Abort();
        if (side == 0) {
          std::lock_guard<std::mutex> lock(sh.mu);
          --sh.pairs_left;
          sh.cv.notify_all();
        }
      });
    }
  }
  for (int f = 0; f < kFollowers; ++f) {
    threads.emplace_back([&] {
      for (;;) {
        std::pair<int, Outcome::Kind> item;
        {
          std::unique_lock<std::mutex> lock(sh.mu);
          sh.cv.wait(lock, [&] { return sh.dead || !sh.ready.empty() || sh.pairs_left == 0; });
          if (sh.dead || sh.ready.empty()) return;
          item = sh.ready.front();
          sh.ready.pop_front();
        }
        const HouseholdPlan& plan = w.households[static_cast<size_t>(item.first)];
        // A referral that lost the race is sent again (same id: it was not recorded).
        if (item.second == Outcome::kRefused && send(plan.ref).kind != Outcome::kAccepted) continue;
        for (int index : plan.follow) {
          Outcome o = send(index);
          if (sh.dead) return;
          Expect e = w.requests[static_cast<size_t>(index)].expect;
          // An unexpected verdict is for the checks to report; stop this household.
          if ((e == Expect::kAccept) != (o.kind == Outcome::kAccepted)) break;
        }
      }
    });
  }
  threads.emplace_back([&] {
    constexpr size_t kChunk = 8;
    for (size_t k = 0; k < w.bulk.size() && !sh.dead; k += kChunk) {
      std::vector<const Request*> chunk;
      for (size_t j = k; j < std::min(w.bulk.size(), k + kChunk); ++j)
        chunk.push_back(&w.requests[static_cast<size_t>(w.bulk[j])]);
      for (const Request* r : chunk) recorder->Sending(r->index);
      std::vector<Outcome> outs = sender->SendBulk(chunk);
      for (size_t j = 0; j < outs.size(); ++j) {
        recorder->Record(chunk[j]->index, outs[j]);
        if (outs[j].kind == Outcome::kUnknown) sh.dead = true;
      }
    }
    if (!sh.dead && sender->Sync()) recorder->Synced();
  });
  for (auto& t : threads) t.join();
}

std::string JournalLine(int index, const Outcome& o) {
  std::string s = std::to_string(index) + " ";
  switch (o.kind) {
    case Outcome::kAccepted:
    case Outcome::kDuplicate:
      s += o.kind == Outcome::kAccepted ? "A " : "D ";
      for (size_t i = 0; i < o.positions.size(); ++i) {
        if (i) s += ",";
        s += std::to_string(o.positions[i]);
      }
      break;
    case Outcome::kRefused:
      s += "R " + o.code;
      break;
    case Outcome::kUnknown:
      s += "U " + o.code;
      break;
    case Outcome::kSending:
      s += "P";
      break;
  }
  for (auto& c : s)
    if (c == '\n') c = ' ';
  return s + "\n";
}

bool ParseJournalLine(const std::string& line, int* index, Outcome* o) {
  int n = 0;
  char kind = 0;
  int used = 0;
  if (std::sscanf(line.c_str(), "%d %c%n", &n, &kind, &used) < 2) return false;
  std::string rest = line.substr(static_cast<size_t>(used));
  if (!rest.empty() && rest[0] == ' ') rest.erase(0, 1);
  *index = n;
  *o = Outcome{};
  switch (kind) {
    case 'A':
    case 'D': {
      o->kind = kind == 'A' ? Outcome::kAccepted : Outcome::kDuplicate;
      size_t pos = 0;
      while (pos < rest.size()) {
        size_t comma = rest.find(',', pos);
        o->positions.push_back(std::stoll(rest.substr(pos, comma - pos)));
        if (comma == std::string::npos) break;
        pos = comma + 1;
      }
      return !o->positions.empty();
    }
    case 'R':
      o->kind = Outcome::kRefused;
      o->code = rest;
      return true;
    case 'U':
      o->kind = Outcome::kUnknown;
      o->code = rest;
      return true;
    case 'P':
      o->kind = Outcome::kSending;
      return true;
  }
  return false;
}

}  // namespace relais::crash
