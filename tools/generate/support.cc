// Support episodes: start, objectives, reviews, pauses, closing, resumption.

#include <algorithm>
#include <array>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "generate/simulation.h"

namespace relais::tools::gen {

namespace {

std::string EpisodeId(int number) { return "E" + std::to_string(number); }

}  // namespace

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
      .Key("episodeId")
      .String(EpisodeId(h.episodes))
      .Key("kind")
      .String(h.episode_kind)
      .Key("association")
      .String(h.episode_association);
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
  JsonWriter& j =
      Data().Key("episodeId").String(EpisodeId(h.episodes)).Key("objectives").BeginArray();
  for (int i = 0; i < count; ++i) {
    const int number = ++h.objective_count;
    j.BeginObject()
        .Key("objectiveId")
        .String("O" + std::to_string(number))
        .Key("domain")
        .String(rng_.Weighted(kDomains));
    if (rng_.Chance(0.5)) j.Key("dueDate").String(DayText(today_ + rng_.Between(90, 365)));
    j.EndObject();
    h.objectives.push_back({number, 0});
  }
  j.EndArray();
  Emit("ObjectivesSet", h.subject, today_);
  h.episode_last_change = today_;
}

// A review wake-up of an open episode: unpause, close at the planned end,
// pause now and then, or review progress every three to five months.
void Simulation::ReviewEpisode(int who) {
  Household& h = households_[static_cast<size_t>(who)];
  if (h.episode_status == EpisodeStatus::kPaused && today_ < h.episode_planned_end &&
      rng_.Chance(0.7)) {
    Data().Key("episodeId").String(EpisodeId(h.episodes));
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
    Data()
        .Key("episodeId")
        .String(EpisodeId(h.episodes))
        .Key("reason")
        .String(rng_.Weighted(kPauseReasons));
    Emit("SupportPaused", h.subject, today_);
    h.episode_status = EpisodeStatus::kPaused;
    h.episode_last_change = today_;
    return Schedule(who, Process::kSupport, today_ + rng_.Between(15, 120));
  }
  // A late review is dated after the episode's last change, so the episode was
  // already in its current state, with these objectives, on that day.
  const int effective = Late(0.06, h.episode_last_change + 1);
  JsonWriter& j =
      Data().Key("episodeId").String(EpisodeId(h.episodes)).Key("progress").BeginArray();
  for (Objective& o : h.objectives) {
    if (o.status == 0 && rng_.Chance(0.55)) {
      o.status = 1;
    } else if (o.status == 1) {
      o.status = rng_.Chance(0.22) ? 2 : rng_.Chance(0.05) ? 3 : 1;
    }
    j.BeginObject()
        .Key("objectiveId")
        .String("O" + std::to_string(o.number))
        .Key("status")
        .String(kObjectiveStatuses[o.status])
        .EndObject();
  }
  j.EndArray();
  const int notes = rng_.Chance(0.7) ? rng_.Between(0, std::size(kReviewNotes) - 1) : -1;
  if (notes >= 0) j.Key("notes").String(kReviewNotes[notes]);
  const int next = today_ + rng_.Between(90, 150);
  if (rng_.Chance(0.5)) j.Key("nextReviewDate").String(DayText(next));
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
      .Key("episodeId")
      .String(EpisodeId(h.episodes))
      .Key("previousEpisodeId")
      .String(EpisodeId(previous))
      .Key("reason")
      .String(Pick(kResumeReasons));
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
  Data().Key("episodeId").String(EpisodeId(h.episodes)).Key("reason").String(reason);
  Emit("SupportClosed", h.subject, today_);
  h.episode_status = EpisodeStatus::kClosed;
  h.episode_last_change = today_;
  Cancel(who, Process::kSupport);
}

}  // namespace relais::tools::gen
