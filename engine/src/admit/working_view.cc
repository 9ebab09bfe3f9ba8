#include "admit/working_view.h"

namespace relais::admit {

GroupEvents& EventsOf(write::Group& g) {
  if (!g.payload) g.payload = std::make_unique<GroupEvents>();
  return static_cast<GroupEvents&>(*g.payload);
}

const GroupEvents* EventsOf(const write::Group* g) {
  return g && g->payload ? static_cast<const GroupEvents*>(g->payload.get()) : nullptr;
}

Result<std::vector<const EventRecord*>> WorkingView::Records(
    const std::string& subject_text, std::shared_ptr<cache::StreamEntry>* keep,
    bool with_request) const {
  const std::vector<EventRecord>* uncommitted[2] = {nullptr, nullptr};
  const write::Group* groups[2] = {g_->prev, g_};
  for (int i = 0; i < 2; ++i)
    if (const GroupEvents* ev = EventsOf(groups[i]))
      if (auto it = ev->pending.find(subject_text); it != ev->pending.end())
        uncommitted[i] = &it->second;
  std::vector<const EventRecord*> out;
  Position loaded = 0;
  // A stream whose first event (version 0) is in a group not yet committed
  // has nothing committed: the store is not asked (a new household's events
  // arrive together, and each would otherwise read the stream back, find it
  // empty and be forgotten by the cache: 77,000 reads for 100,000 imported
  // events, docs/performance.md).
  const bool created = (uncommitted[0] && !uncommitted[0]->empty() && uncommitted[0]->front().version == 0) ||
                       (!uncommitted[0] && uncommitted[1] && !uncommitted[1]->empty() &&
                        uncommitted[1]->front().version == 0);
  if (!created && !committed_empty_.count(subject_text)) {
    std::string why;
    auto subject = ParseSubject(subject_text, &why);
    if (!subject) return Status::Internal(why);
    ASSIGN_OR_RETURN(*keep, state_->Stream(*subject));
    for (const auto& r : (*keep)->records) out.push_back(&r);
    // A stream first loaded while the previous group's write was landing may
    // already hold some of that group's events: skip what the load has.
    loaded = (*keep)->records.empty() ? 0 : (*keep)->records.back().position;
    if ((*keep)->records.empty()) committed_empty_.insert(subject_text);
  }
  for (const auto* records : uncommitted)
    if (records)
      for (const auto& r : *records)
        if (r.position > loaded) out.push_back(&r);
  if (with_request)
    if (auto it = fresh.find(subject_text); it != fresh.end())
      for (const auto& r : it->second) out.push_back(&r);
  return out;
}

Result<std::string> WorkingView::DataAt(Position p) const {
  if (auto it = fresh_data.find(p); it != fresh_data.end()) return it->second;
  for (const write::Group* x = g_; x; x = x->prev)
    if (const GroupEvents* ev = EventsOf(x))
      if (auto it = ev->by_position.find(p); it != ev->by_position.end())
        return it->second->full_data;
  return state_->DataAt(p);
}

const GroupEvent* WorkingView::FindId(const Uuid& id) const {
  for (const write::Group* x = g_; x; x = x->prev)
    if (const GroupEvents* ev = EventsOf(x))
      if (auto it = ev->ids.find(id); it != ev->ids.end()) return &it->second;
  return nullptr;
}

bool WorkingView::HasNewRef(const std::pair<std::string, std::string>& ref) const {
  for (const write::Group* x = g_; x; x = x->prev)
    if (const GroupEvents* ev = EventsOf(x))
      if (ev->new_refs.count(ref)) return true;
  return false;
}

std::set<std::string> WorkingView::Referencing(std::string_view dwelling_id, Status* error) const {
  std::set<std::string> out;
  auto committed = state_->Referencing(std::string(dwelling_id));
  if (committed.ok()) {
    out = std::move(*committed);
  } else {
    *error = committed.status();
  }
  for (const write::Group* x = g_; x; x = x->prev)
    if (const GroupEvents* ev = EventsOf(x))
      for (const auto& [d, h] : ev->new_refs)
        if (d == dwelling_id) out.insert(h);
  for (const auto& [subject, records] : fresh)
    for (const auto& r : records)
      if (r.fact.dwelling_id == dwelling_id && subject.rfind("household/", 0) == 0)
        out.insert(subject.substr(10));
  return out;
}

std::optional<Date> WriterCross::DwellingRegisteredOn(std::string_view dwelling_id) const {
  std::shared_ptr<cache::StreamEntry> keep;
  auto records = w_->Records("dwelling/" + std::string(dwelling_id), &keep);
  if (!records.ok()) {
    error_ = records.status();
    return std::nullopt;
  }
  for (const auto& t : BuildTimeline(*records, UINT64_MAX, std::nullopt))
    if (t.fact->type == EventType::kDwellingRegistered) return t.effective;
  return std::nullopt;
}

std::vector<OccupancyInterval> WriterCross::OtherOccupancies(std::string_view dwelling_id,
                                                             std::string_view self) const {
  std::vector<OccupancyInterval> out;
  for (const std::string& h : Referencing(dwelling_id)) {
    if (h == self) continue;
    std::shared_ptr<cache::StreamEntry> keep;
    auto records = w_->Records("household/" + h, &keep);
    if (!records.ok()) {
      error_ = records.status();
      continue;
    }
    auto timeline = BuildTimeline(*records, UINT64_MAX, std::nullopt);
    for (auto& o : ExtractOccupancies(h, timeline))
      if (o.dwelling_id == dwelling_id) out.push_back(std::move(o));
  }
  return out;
}

bool WriterCross::DwellingReferenced(std::string_view dwelling_id) const {
  return !Referencing(dwelling_id).empty();
}

std::set<std::string> WriterCross::Referencing(std::string_view dwelling_id) const {
  Status st;
  std::set<std::string> out = w_->Referencing(dwelling_id, &st);
  if (!st.ok()) error_ = st;
  return out;
}

}  // namespace relais::admit
