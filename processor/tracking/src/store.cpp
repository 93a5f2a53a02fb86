#include "dlr/tracking/store.h"

#include <rocksdb/cache.h>
#include <rocksdb/db.h>
#include <rocksdb/filter_policy.h>
#include <rocksdb/options.h>
#include <rocksdb/table.h>
#include <rocksdb/write_batch.h>
#include <rocksdb/write_buffer_manager.h>

#include <cstring>

namespace dlr::tracking {
namespace {

// Column families: states by messageId, and an index by last report time for the retention
// sweep (and, later, for messages that never got a final report).
constexpr const char* kStates = "default";
constexpr const char* kByTime = "by_time";
constexpr const char* kCheckpointKey = "\x01checkpoint";  // in by_time, before every time key

// The index holds times to the minute: a message's reports usually fall in one minute, so most
// changes leave its index entry where it is (retention is days; a minute early does not matter).
constexpr int64_t kIndexGrainMs = 60'000;
int64_t index_time(int64_t ms) {
  return ms < 0 ? 0 : ms / kIndexGrainMs * kIndexGrainMs;
}

// Big-endian, so keys sort by time; times before 1970 clamp to 0.
std::string time_key(int64_t ms, std::string_view key) {
  const auto t = static_cast<uint64_t>(index_time(ms));
  std::string out(9 + key.size(), '\0');
  out[0] = '\x02';
  for (int i = 0; i < 8; ++i) out[1 + i] = static_cast<char>(t >> (56 - 8 * i));
  if (!key.empty()) std::memcpy(out.data() + 9, key.data(), key.size());  // an empty view may hold null
  return out;
}

int64_t time_of(std::string_view index_key) {
  uint64_t t = 0;
  for (int i = 0; i < 8; ++i) t = t << 8 | static_cast<uint8_t>(index_key[1 + i]);
  return static_cast<int64_t>(t);
}

}  // namespace

struct StoreMemory::Impl {
  std::shared_ptr<rocksdb::Cache> cache;
  std::shared_ptr<rocksdb::WriteBufferManager> write_buffers;
};

StoreMemory::StoreMemory(size_t cache_bytes) : impl(std::make_unique<Impl>()) {
  impl->cache = rocksdb::NewLRUCache(cache_bytes);
  // Memtables count against the same cache: half of it at most, then they are flushed.
  impl->write_buffers = std::make_shared<rocksdb::WriteBufferManager>(cache_bytes / 2, impl->cache);
}
StoreMemory::~StoreMemory() = default;
size_t StoreMemory::usage() const {
  return impl->cache->GetUsage();
}

struct PartitionStore::Impl {
  std::unique_ptr<rocksdb::DB> db;
  std::vector<rocksdb::ColumnFamilyHandle*> families;
  ~Impl() {
    // No write-ahead log: what is only in the memtables is written out now, or restored later.
    if (!families.empty()) (void)db->Flush(rocksdb::FlushOptions(), families);
    for (auto* f : families) (void)db->DestroyColumnFamilyHandle(f);
  }
  [[nodiscard]] rocksdb::ColumnFamilyHandle* states() const { return families[0]; }
  [[nodiscard]] rocksdb::ColumnFamilyHandle* by_time() const { return families[1]; }
};

std::unique_ptr<PartitionStore> PartitionStore::open(const std::string& dir, StoreMemory& memory,
                                                     std::string& error) {
  rocksdb::Options options;
  options.create_if_missing = true;
  options.create_missing_column_families = true;
  options.write_buffer_manager = memory.impl->write_buffers;
  options.max_open_files = 256;
  options.keep_log_file_num = 2;
  // The families flush together, so a store that lost its memtables is still at one checkpoint.
  options.atomic_flush = true;
  rocksdb::BlockBasedTableOptions table;
  table.block_cache = memory.impl->cache;
  table.cache_index_and_filter_blocks = true;  // inside the bound too
  // Most reads are for messages not seen yet: a filter answers them without reading a block.
  table.filter_policy.reset(rocksdb::NewBloomFilterPolicy(10));
  rocksdb::ColumnFamilyOptions family(options);
  family.table_factory.reset(rocksdb::NewBlockBasedTableFactory(table));
  family.write_buffer_size = 8 << 20;
  family.memtable_whole_key_filtering = true;  // the same for the memtables
  family.memtable_prefix_bloom_size_ratio = 0.02;
  const std::vector<rocksdb::ColumnFamilyDescriptor> descriptors = {{kStates, family}, {kByTime, family}};
  auto store = std::unique_ptr<PartitionStore>(new PartitionStore());
  store->impl_ = std::make_unique<Impl>();
  rocksdb::DB* db = nullptr;
  const rocksdb::Status status =
      rocksdb::DB::Open(rocksdb::DBOptions(options), dir, descriptors, &store->impl_->families, &db);
  if (!status.ok()) {
    error = "cannot open the state store in " + dir + ": " + status.ToString();
    return nullptr;
  }
  store->impl_->db.reset(db);
  std::string checkpoint;
  if (db->Get(rocksdb::ReadOptions(), store->impl_->by_time(), kCheckpointKey, &checkpoint).ok() &&
      checkpoint.size() == sizeof(int64_t)) {
    std::memcpy(&store->checkpoint_, checkpoint.data(), sizeof(int64_t));
  }
  return store;
}

PartitionStore::~PartitionStore() = default;

bool PartitionStore::get(std::string_view key, std::string& value) const {
  return impl_->db
      ->Get(rocksdb::ReadOptions(), impl_->states(), rocksdb::Slice(key.data(), key.size()), &value)
      .ok();
}

bool PartitionStore::apply(const StoreWrite& write, std::string& error) {
  rocksdb::WriteBatch batch;
  for (const auto& change : write.changes) {
    const bool indexed = change.previous_report_ms >= 0;
    const bool moves = change.value.empty() || !indexed ||
                       index_time(change.previous_report_ms) != index_time(change.last_report_ms);
    if (indexed && moves)
      (void)batch.Delete(impl_->by_time(), time_key(change.previous_report_ms, change.key));
    if (change.value.empty()) {
      (void)batch.Delete(impl_->states(), change.key);
    } else {
      (void)batch.Put(impl_->states(), change.key, change.value);
      if (moves)
        (void)batch.Put(impl_->by_time(), time_key(change.last_report_ms, change.key), rocksdb::Slice());
    }
  }
  char checkpoint[sizeof(int64_t)];
  std::memcpy(checkpoint, &write.changelog_offset, sizeof checkpoint);
  (void)batch.Put(impl_->by_time(), kCheckpointKey, rocksdb::Slice(checkpoint, sizeof checkpoint));
  // Neither a log nor an fsync: a store that loses its newest writes is restored from the changelog.
  rocksdb::WriteOptions options;
  options.disableWAL = true;
  const rocksdb::Status status = impl_->db->Write(options, &batch);
  if (!status.ok()) {
    error = "state store write failed: " + status.ToString();
    return false;
  }
  checkpoint_ = write.changelog_offset;
  return true;
}

std::vector<std::pair<std::string, int64_t>> PartitionStore::expired(int64_t before_ms, size_t limit) const {
  std::vector<std::pair<std::string, int64_t>> out;
  std::unique_ptr<rocksdb::Iterator> it(impl_->db->NewIterator(rocksdb::ReadOptions(), impl_->by_time()));
  const std::string end = time_key(before_ms, {});
  for (it->Seek(time_key(0, {})); it->Valid() && out.size() < limit; it->Next()) {
    const rocksdb::Slice k = it->key();
    if (k.compare(end) >= 0) break;
    out.emplace_back(std::string(k.data() + 9, k.size() - 9), time_of(std::string_view(k.data(), k.size())));
  }
  return out;
}

uint64_t PartitionStore::approximate_keys() const {
  uint64_t keys = 0;
  impl_->db->GetIntProperty(impl_->states(), rocksdb::DB::Properties::kEstimateNumKeys, &keys);
  return keys;
}

uint64_t PartitionStore::approximate_bytes() const {
  uint64_t bytes = 0;
  impl_->db->GetIntProperty(impl_->states(), rocksdb::DB::Properties::kEstimateLiveDataSize, &bytes);
  return bytes;
}

bool PartitionStore::destroy(const std::string& dir, std::string& error) {
  const rocksdb::Status status = rocksdb::DestroyDB(dir, rocksdb::Options());
  if (!status.ok()) error = "cannot delete the state store in " + dir + ": " + status.ToString();
  return status.ok();
}

}  // namespace dlr::tracking
