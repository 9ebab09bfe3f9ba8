// Backup and restore (tools/backup; interfaces.md §3): a backup taken while
// writers run restores to exactly the log it reported, with every personal
// field readable; a damaged or incomplete backup is refused and named; a
// restore never half-replaces a data directory.
#include "backup/backup.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <set>
#include <thread>

#include "backup/copy.h"
#include "backup/erasure_register.h"
#include "backup/manifest.h"
#include "relais/projections/views.h"
#include "support/test_support.h"

namespace relais::testing {
namespace {

namespace fs = std::filesystem;

std::string Name(int n) { return "Nom-" + std::to_string(n); }

std::string Register(int n, const std::string& household) {
  return Ev(n, "HouseholdRegistered", "household/" + household, "2015-01-01",
            R"({"territory":"lille","commune":"Lille","adults":1,"children":0,"headOfHousehold":{"name":")" +
                Name(n) + R"(","birthDate":"1980-01-01"}})");
}

void WriteText(const std::string& path, const std::string& text) {
  std::ofstream f(path, std::ios::binary | std::ios::trunc);
  f << text;
  ASSERT_TRUE(f.good()) << path;
}

std::string Slurp(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(f), {});
}

// Flips one byte of `path` in a new inode: checkpoint files are hard links to
// the live database, which must stay intact.
void FlipByte(const std::string& path, size_t offset) {
  std::string bytes = Slurp(path);
  ASSERT_LT(offset, bytes.size()) << path;
  bytes[offset] ^= 0x01;
  ASSERT_EQ(::unlink(path.c_str()), 0);
  WriteText(path, bytes);
}

// Every file 0600 and every directory 0700 under `root`.
void ExpectOwnerOnly(const std::string& root) {
  struct stat st;
  ASSERT_EQ(::stat(root.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0700u) << root;
  for (const auto& e : fs::recursive_directory_iterator(root)) {
    ASSERT_EQ(::lstat(e.path().c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 0777, e.is_directory() ? 0700u : 0600u) << e.path();
  }
}

// The files the tools keep beside the databases, one of each kind.
void AddToolFiles(const std::string& dir) {
  WriteText(dir + "/tokens.json", R"({"tokens":[{"name":"a","role":"admin","sha256":"00"}]})");
  WriteText(dir + "/pseudonym.key", std::string(32, '\x5a'));
  // Two whole lines and a line being written.
  WriteText(dir + "/access-journal.ndjson", "{\"n\":1}\n{\"n\":2}\n{\"n\":");
  WriteText(dir + "/tokens.lock", "");
  WriteText(dir + "/tokens.json.tmp", "half");
  WriteText(dir + "/pseudonym.key.tmp.12.34", "half");
}

// A data directory of `households` households, backed up into `dest`.
struct BackedUp {
  explicit BackedUp(int households) {
    for (int i = 0; i < households; ++i) {
      auto o = Import(*f.engine, Register(i + 1, "H" + std::to_string(i)));
      EXPECT_EQ(o.kind, AppendOutcome::Kind::kAccepted) << OutcomeText(o);
    }
    AddToolFiles(f.options.data_dir);
    dest = f.dir.path() + "/backup";
    auto m = backup::BackupDataDir(*f.engine, f.options.data_dir, dest);
    EXPECT_TRUE(m.ok()) << m.status().message();
    if (m.ok()) manifest = *m;
    f.engine->Close();
  }
  EngineFixture f;
  std::string dest;
  backup::BackupManifest manifest;
};

Result<backup::RestoreResult> Restore(const std::string& src, const std::string& dir,
                                      bool force = false, const std::string& erasures = "") {
  backup::RestoreOptions o;
  o.force = force;
  o.erasures_file = erasures;
  return backup::RestoreDataDir(src, dir, o);
}

// Nothing but `keep` in `parent`: no temporary directory left behind.
void ExpectOnly(const std::string& parent, std::set<std::string> keep) {
  std::set<std::string> seen;
  for (const auto& e : fs::directory_iterator(parent)) seen.insert(e.path().filename().string());
  EXPECT_EQ(seen, keep);
}

TEST(BackupTest, UnderConcurrentAppendsRestoresExactlyTheReportedLog) {
  EngineFixture f;
  AddToolFiles(f.options.data_dir);
  constexpr int kThreads = 4, kPerThreadMax = 400, kBeforeBackup = 200, kAfterBackup = 20;
  struct Acked {
    int n;
    Position position;
    bool before_backup;  // acknowledged before the backup started
  };
  std::mutex mu;
  std::vector<Acked> acked;
  std::atomic<int> total{0};
  std::atomic<bool> started{false}, done{false};
  std::atomic<int> during{0};  // acknowledged while the backup ran (printed, not asserted)
  std::vector<std::thread> writers;
  for (int t = 0; t < kThreads; ++t) {
    writers.emplace_back([&, t] {
      int after = 0;
      for (int i = 0; i < kPerThreadMax && after < kAfterBackup; ++i) {
        int n = t * 100000 + i + 1;
        AppendOutcome o = f.engine->Append(Register(n, "T" + std::to_string(n)), AppendOptions{});
        bool before = !started.load();
        if (done.load()) ++after;
        if (started.load() && !done.load()) ++during;
        ASSERT_EQ(o.kind, AppendOutcome::Kind::kAccepted) << OutcomeText(o);
        std::lock_guard<std::mutex> lock(mu);
        acked.push_back({n, o.results[0].position, before});
        ++total;
      }
    });
  }
  while (total.load() < kBeforeBackup) std::this_thread::yield();
  std::string dest = f.dir.path() + "/backup";
  started = true;
  auto m = backup::BackupDataDir(*f.engine, f.options.data_dir, dest);
  done = true;
  for (auto& w : writers) w.join();
  ASSERT_TRUE(m.ok()) << m.status().message();
  std::printf("backup at position %llu of %d appends (%d acknowledged during the backup)\n",
              static_cast<unsigned long long>(m->position), total.load(), during.load());
  // The backup is a prefix of the live log, ending where it says.
  auto live_hash = f.engine->HashAt(m->position);
  ASSERT_TRUE(live_hash.ok());
  EXPECT_EQ(*live_hash, m->head);
  EXPECT_GT(f.engine->GetHead().position, m->position);  // writers went on after it
  f.engine->Close();
  ExpectOwnerOnly(dest);
  ASSERT_TRUE(fs::exists(dest + "/BACKUP.json"));

  std::string target = f.dir.path() + "/restored";
  auto r = Restore(dest, target);
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(r->position, m->position);
  EXPECT_EQ(r->head, m->head);
  EXPECT_EQ(r->erasures_applied, 0);
  ExpectOwnerOnly(target);
  ExpectOnly(f.dir.path(), {"data", "backup", "restored"});

  Options o;
  o.data_dir = target;
  auto restored = Engine::Open(o);
  ASSERT_TRUE(restored.ok()) << restored.status().message();
  VerifyReport v = (*restored)->Verify(nullptr);
  EXPECT_TRUE(v.ok) << v.problem;
  EXPECT_EQ(v.head, m->head);
  EXPECT_EQ((*restored)->GetHead().position, m->position);
  int checked_before = 0;
  for (const Acked& a : acked) {
    std::string why;
    Subject s = *ParseSubject("household/T" + std::to_string(a.n), &why);
    auto history = projections::HistoryJson(**restored, s, std::nullopt, false);
    if (a.position <= m->position) {
      ASSERT_TRUE(history.ok()) << s.text << " at " << a.position << ": "
                                << history.status().message();
      EXPECT_NE(history->find("\"headOfHousehold\""), std::string::npos) << *history;
      EXPECT_NE(history->find(Name(a.n)), std::string::npos) << *history;
    } else {
      // Nothing after the reported position.
      EXPECT_EQ(history.status().code(), StatusCode::kNotFound) << s.text << " at " << a.position;
    }
    if (a.before_backup) {
      EXPECT_LE(a.position, m->position) << "acknowledged before the backup, missing from it";
      ++checked_before;
    }
  }
  EXPECT_GE(checked_before, kBeforeBackup);

  // The tools' files came along; locks and temporary files did not; the
  // journal's line being written was cut.
  EXPECT_EQ(Slurp(target + "/tokens.json"), Slurp(f.options.data_dir + "/tokens.json"));
  EXPECT_EQ(Slurp(target + "/pseudonym.key"), std::string(32, '\x5a'));
  EXPECT_EQ(Slurp(target + "/access-journal.ndjson"), "{\"n\":1}\n{\"n\":2}\n");
  EXPECT_FALSE(fs::exists(target + "/tokens.lock"));
  EXPECT_FALSE(fs::exists(target + "/tokens.json.tmp"));
  EXPECT_FALSE(fs::exists(target + "/pseudonym.key.tmp.12.34"));
}

TEST(BackupTest, ManifestListsEveryFileWithItsSizeAndHash) {
  BackedUp b(5);
  const auto& m = b.manifest;
  EXPECT_EQ(m.position, 5u);
  std::set<std::string> listed;
  for (const auto& file : m.files) {
    listed.insert(file.path);
    auto h = backup::HashFile(b.dest, file.path);
    ASSERT_TRUE(h.ok());
    EXPECT_EQ(h->size, file.size) << file.path;
    EXPECT_EQ(h->sha256, file.sha256) << file.path;
  }
  for (const auto& e : fs::recursive_directory_iterator(b.dest)) {
    if (!e.is_regular_file()) continue;
    std::string rel = fs::relative(e.path(), b.dest).generic_string();
    if (rel == "BACKUP.json") continue;
    EXPECT_TRUE(listed.count(rel)) << rel << " is not in BACKUP.json";
  }
  EXPECT_TRUE(listed.count("tokens.json"));
  EXPECT_TRUE(listed.count("pseudonym.key"));
  EXPECT_TRUE(listed.count("log/CURRENT"));
  EXPECT_TRUE(listed.count("keys/CURRENT"));
  auto parsed = backup::ParseManifest(Slurp(b.dest + "/BACKUP.json"));
  ASSERT_TRUE(parsed.ok()) << parsed.status().message();
  EXPECT_EQ(parsed->files.size(), m.files.size());
  EXPECT_EQ(parsed->head, m.head);
}

TEST(BackupTest, ExistingDestinationOrOneInsideTheDataDirectoryIsRefused) {
  EngineFixture f;
  ASSERT_EQ(Import(*f.engine, Register(1, "H1")).kind, AppendOutcome::Kind::kAccepted);
  std::string dest = f.dir.path() + "/exists";
  fs::create_directories(dest);
  WriteText(dest + "/keep", "mine");
  auto m = backup::BackupDataDir(*f.engine, f.options.data_dir, dest);
  EXPECT_EQ(m.status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(Slurp(dest + "/keep"), "mine");  // left alone
  auto inside = backup::BackupDataDir(*f.engine, f.options.data_dir, f.options.data_dir + "/b");
  EXPECT_EQ(inside.status().code(), StatusCode::kInvalidArgument);
  EXPECT_FALSE(fs::exists(f.options.data_dir + "/b"));
}

// Backups to one destination at once: one gets it, the others are refused
// (Engine::Backup's exists-then-create alone would let several in, and a
// loser's cleanup would remove the winner's copy).
TEST(BackupTest, ConcurrentBackupsToOneDestinationOneWins) {
  EngineFixture f;
  ASSERT_EQ(Import(*f.engine, Register(1, "H1")).kind, AppendOutcome::Kind::kAccepted);
  std::string dest = f.dir.path() + "/b";
  constexpr int kThreads = 8;
  std::vector<Result<backup::BackupManifest>> results(kThreads, Status::Internal("not run"));
  std::atomic<int> ready{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < kThreads; ++i) {
    threads.emplace_back([&, i] {
      ++ready;
      while (ready.load() < kThreads) std::this_thread::yield();  // all start together
      results[i] = backup::BackupDataDir(*f.engine, f.options.data_dir, dest);
    });
  }
  for (auto& t : threads) t.join();
  int ok = 0;
  for (const auto& r : results) {
    if (r.ok()) {
      ++ok;
    } else {
      // The destination exists by then, or another backup is running.
      EXPECT_TRUE(r.status().code() == StatusCode::kInvalidArgument ||
                  r.status().code() == StatusCode::kResourceExhausted)
          << r.status().message();
    }
  }
  EXPECT_EQ(ok, 1);
  EXPECT_TRUE(std::filesystem::exists(dest + "/BACKUP.json")) << "the losers removed nothing";
  f.engine->Close();
  auto restored = Restore(dest, f.dir.path() + "/r");
  EXPECT_TRUE(restored.ok()) << restored.status().message();
}

// A backup that fails after Engine::Backup made `dest` leaves nothing there:
// no directory that could be mistaken for a backup.
TEST(BackupTest, FailedBackupLeavesNoDestination) {
  EngineFixture f;
  ASSERT_EQ(Import(*f.engine, Register(1, "H1")).kind, AppendOutcome::Kind::kAccepted);
  WriteText(f.options.data_dir + "/not a relais name", "x");
  std::string dest = f.dir.path() + "/b";
  auto m = backup::BackupDataDir(*f.engine, f.options.data_dir, dest);
  EXPECT_FALSE(m.ok());
  EXPECT_NE(m.status().message().find("not a relais name"), std::string::npos)
      << m.status().message();
  EXPECT_FALSE(fs::exists(dest));
}

TEST(RestoreTest, FlippedByteInACopiedFileIsDetectedAndNamed) {
  for (std::string victim : {"tokens.json", "pseudonym.key", "log/CURRENT", "sst"}) {
    BackedUp b(10);
    if (victim == "sst") {
      for (const auto& file : b.manifest.files)
        if (file.path.starts_with("log/") && file.path.ends_with(".sst")) victim = file.path;
      ASSERT_NE(victim, "sst") << "no SST file in the log checkpoint";
    }
    FlipByte(b.dest + "/" + victim, 3);
    std::string target = b.f.dir.path() + "/restored";
    auto r = Restore(b.dest, target);
    ASSERT_EQ(r.status().code(), StatusCode::kCorruption) << victim;
    EXPECT_NE(r.status().message().find(victim), std::string::npos) << r.status().message();
    EXPECT_FALSE(fs::exists(target));
    ExpectOnly(b.f.dir.path(), {"data", "backup"});
  }
}

TEST(RestoreTest, TruncatedOrMissingFileIsRefused) {
  BackedUp b(3);
  std::string victim = b.dest + "/tokens.json";
  std::string bytes = Slurp(victim);
  WriteText(victim, bytes.substr(0, bytes.size() - 1));
  auto r = Restore(b.dest, b.f.dir.path() + "/r1");
  EXPECT_EQ(r.status().code(), StatusCode::kCorruption);
  EXPECT_NE(r.status().message().find("tokens.json"), std::string::npos) << r.status().message();
  ASSERT_EQ(::unlink(victim.c_str()), 0);
  r = Restore(b.dest, b.f.dir.path() + "/r2");
  EXPECT_EQ(r.status().code(), StatusCode::kCorruption);
  EXPECT_NE(r.status().message().find("tokens.json"), std::string::npos) << r.status().message();
  ExpectOnly(b.f.dir.path(), {"data", "backup"});
}

TEST(RestoreTest, BackupWithoutManifestIsIncomplete) {
  BackedUp b(3);
  ASSERT_EQ(::unlink((b.dest + "/BACKUP.json").c_str()), 0);
  auto r = Restore(b.dest, b.f.dir.path() + "/restored");
  EXPECT_EQ(r.status().code(), StatusCode::kCorruption);
  EXPECT_NE(r.status().message().find("incomplete"), std::string::npos) << r.status().message();
  EXPECT_FALSE(fs::exists(b.f.dir.path() + "/restored"));
  EXPECT_EQ(Restore(b.f.dir.path() + "/nowhere", b.f.dir.path() + "/r").status().code(),
            StatusCode::kNotFound);
}

TEST(RestoreTest, ManifestPathsCannotLeaveTheTarget) {
  for (std::string bad : {"../escape", "/etc/passwd", "log/../../x", "a//b", "", "."}) {
    EXPECT_FALSE(backup::IsSafeRelativePath(bad)) << bad;
  }
  EXPECT_TRUE(backup::IsSafeRelativePath("log/000012.sst"));
  BackedUp b(2);
  std::string text = Slurp(b.dest + "/BACKUP.json");
  size_t at = text.find("\"path\":\"");
  ASSERT_NE(at, std::string::npos);
  text.insert(at + 8, "../");
  WriteText(b.dest + "/BACKUP.json", text);
  auto r = Restore(b.dest, b.f.dir.path() + "/restored");
  EXPECT_EQ(r.status().code(), StatusCode::kCorruption) << r.status().message();
}

// A manifest whose files all check but whose head is not the copied log's
// (edited, or from another backup) is refused: the printed head is the log's.
TEST(RestoreTest, HeadOtherThanTheCopiedLogsIsRefused) {
  BackedUp b(3);
  std::string text = Slurp(b.dest + "/BACKUP.json");
  size_t at = text.find(b.manifest.head);
  ASSERT_NE(at, std::string::npos);
  text.replace(at, 64, std::string(64, 'a'));
  WriteText(b.dest + "/BACKUP.json", text);
  auto r = Restore(b.dest, b.f.dir.path() + "/restored");
  EXPECT_EQ(r.status().code(), StatusCode::kCorruption) << r.status().message();
  EXPECT_FALSE(fs::exists(b.f.dir.path() + "/restored"));
}

TEST(RestoreTest, NonEmptyTargetNeedsForceAndIsReplacedWhole) {
  BackedUp b(4);
  std::string target = b.f.dir.path() + "/target";
  fs::create_directories(target);
  WriteText(target + "/precious", "old");
  auto r = Restore(b.dest, target);
  EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(r.status().message().find("--force"), std::string::npos);
  EXPECT_EQ(Slurp(target + "/precious"), "old");  // untouched
  ExpectOnly(b.f.dir.path(), {"data", "backup", "target"});

  r = Restore(b.dest, target, /*force=*/true);
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(r->position, 4u);
  EXPECT_FALSE(fs::exists(target + "/precious"));  // a copy of the backup, nothing else
  ExpectOnly(b.f.dir.path(), {"data", "backup", "target"});
  // Never over the backup itself: the replaced directory is removed.
  EXPECT_EQ(Restore(b.dest, b.dest, true).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(Restore(b.dest, b.f.dir.path(), true).status().code(), StatusCode::kInvalidArgument);
  EXPECT_TRUE(fs::exists(b.dest + "/BACKUP.json"));
  // An existing empty directory needs no --force.
  std::string empty = b.f.dir.path() + "/empty";
  fs::create_directories(empty);
  r = Restore(b.dest, empty);
  ASSERT_TRUE(r.ok()) << r.status().message();
  Options o;
  o.data_dir = empty;
  auto e = Engine::Open(o);
  ASSERT_TRUE(e.ok());
  EXPECT_TRUE((*e)->Verify(nullptr).ok);
  EXPECT_EQ((*e)->GetHead().hash, b.manifest.head);
}

bool ErasedIn(Engine& e, const std::string& household) {
  auto events = e.ReadStreamEvents(Subject{StreamKind::kHousehold, "household/" + household});
  EXPECT_TRUE(events.ok());
  for (const auto& v : *events)
    if (v.data_json.find("Nom-") != std::string::npos) return false;
  auto erased = e.IsErased(Subject{StreamKind::kHousehold, "household/" + household});
  return erased.ok() && *erased;
}

// lifecycle.md §1: a backup made before erasures, restored over the directory
// that knows of one and with a register naming another, brings neither back.
TEST(RestoreTest, ReappliesTheErasuresOfTheReplacedDirectoryAndOfTheRegister) {
  BackedUp b(3);  // H0, H1, H2, all with personal data, backed up
  b.f.engine = b.f.Reopen();
  ASSERT_EQ(b.f.engine->Erase(Subject{StreamKind::kHousehold, "household/H1"},
                              ErasureReason::kSubjectRequest, ActorInfo{"erase", "admin", "-"})
                .kind,
            AppendOutcome::Kind::kAccepted);
  b.f.engine->Close();
  b.f.engine.reset();
  std::string reg = b.f.dir.path() + "/erasures.ndjson";
  WriteText(reg, R"({"subject":"household/H2","id":"00000000-0000-4000-8000-0000000000aa",)"
                 R"("recordedAt":"2026-02-01T00:00:00Z","reason":"legal_obligation"})"
                 "\n"
                 // Also in the replaced directory: applied once.
                 R"({"subject":"household/H1","id":"00000000-0000-4000-8000-0000000000ab",)"
                 R"("recordedAt":"2026-02-01T00:00:00Z","reason":"other"})"
                 "\n"
                 // Not in the backup: nothing to erase.
                 R"({"subject":"household/ZZ","id":"00000000-0000-4000-8000-0000000000ac",)"
                 R"("recordedAt":"2026-02-01T00:00:00Z","reason":"other"})"
                 "\n");
  // Without --force the replaced directory is refused, as before.
  EXPECT_EQ(Restore(b.dest, b.f.options.data_dir, false, reg).status().code(),
            StatusCode::kInvalidArgument);
  auto r = Restore(b.dest, b.f.options.data_dir, true, reg);
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(r->erasures_applied, 2);
  EXPECT_EQ(r->position, b.manifest.position + 2);
  auto e = Engine::Open(b.f.options);
  ASSERT_TRUE(e.ok()) << e.status().ToString();
  EXPECT_EQ((*e)->GetHead().position, r->position);
  EXPECT_EQ((*e)->GetHead().hash, r->head);
  EXPECT_TRUE(ErasedIn(**e, "H1"));
  EXPECT_TRUE(ErasedIn(**e, "H2"));
  EXPECT_FALSE(ErasedIn(**e, "H0"));
  auto register_after = (*e)->Erasures();
  ASSERT_TRUE(register_after.ok());
  ASSERT_EQ(register_after->size(), 2u);
  EXPECT_EQ((*register_after)[0].subject.text, "household/H1");
  EXPECT_EQ((*register_after)[0].reason, ErasureReason::kSubjectRequest);  // the replaced one's
  EXPECT_EQ((*register_after)[1].subject.text, "household/H2");
  EXPECT_EQ((*register_after)[1].reason, ErasureReason::kLegalObligation);
  auto events = (*e)->ReadStreamEvents(Subject{StreamKind::kHousehold, "household/H2"});
  ASSERT_TRUE(events.ok());
  EXPECT_EQ(events->back().actor.id, "restore");
  VerifyReport v = (*e)->Verify(nullptr);
  EXPECT_TRUE(v.ok) << v.problem;
}

// A backup made after an erasure holds it: nothing to re-apply, and its
// manifest lists it.
TEST(RestoreTest, ErasuresTheBackupHoldsAreNotAppliedAgain) {
  EngineFixture f;
  ASSERT_EQ(Import(*f.engine, Register(1, "H1")).kind, AppendOutcome::Kind::kAccepted);
  ASSERT_EQ(f.engine->Erase(Subject{StreamKind::kHousehold, "household/H1"}, ErasureReason::kOther,
                            ActorInfo{"erase", "admin", "-"})
                .kind,
            AppendOutcome::Kind::kAccepted);
  std::string dest = f.dir.path() + "/backup";
  auto m = backup::BackupDataDir(*f.engine, f.options.data_dir, dest);
  ASSERT_TRUE(m.ok()) << m.status().message();
  ASSERT_EQ(m->erasures.size(), 1u);
  EXPECT_NE(m->erasures[0].find(R"("subject":"household/H1")"), std::string::npos) << m->erasures[0];
  std::string reg = f.dir.path() + "/erasures.ndjson";
  WriteText(reg, m->erasures[0] + "\n");
  f.engine->Close();
  auto r = Restore(dest, f.dir.path() + "/restored", false, reg);
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(r->erasures_applied, 0);
  EXPECT_EQ(r->position, m->position);
}

TEST(RestoreTest, ABadRegisterIsAUsageError) {
  BackedUp b(1);
  std::string reg = b.f.dir.path() + "/erasures.ndjson";
  WriteText(reg, R"({"subject":"household/ZZ","id":"x","recordedAt":"2026","reason":"other"})");
  auto r = Restore(b.dest, b.f.dir.path() + "/r2", false, reg);
  EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(r.status().message().find("line 1"), std::string::npos) << r.status().message();
  EXPECT_EQ(Restore(b.dest, b.f.dir.path() + "/r3", false, reg + ".missing").status().code(),
            StatusCode::kInvalidArgument);
}

TEST(ErasureRegisterTest, ParsesTheRegisterLines) {
  auto r = backup::ParseErasureRegister(
      R"({"subject":"household/H-1","id":"00000000-0000-4000-8000-000000000001","recordedAt":"2026-02-01T00:00:00.5Z","reason":"retention_expired"})"
      "\r\n\n");
  ASSERT_TRUE(r.ok()) << r.status().message();
  ASSERT_EQ(r->size(), 1u);
  EXPECT_EQ((*r)[0].subject, "household/H-1");
  EXPECT_EQ((*r)[0].reason, "retention_expired");
  for (std::string bad :
       {R"({"subject":"dwelling/D1","id":"00000000-0000-4000-8000-000000000001","recordedAt":"2026-02-01T00:00:00Z","reason":"other"})",
        R"({"subject":"household/H1","id":"00000000-0000-4000-8000-000000000001","recordedAt":"2026-02-01T00:00:00Z","reason":"because"})",
        "[1]", "{"}) {
    EXPECT_EQ(backup::ParseErasureRegister(bad).status().code(), StatusCode::kInvalidArgument)
        << bad;
  }
}

}  // namespace
}  // namespace relais::testing
