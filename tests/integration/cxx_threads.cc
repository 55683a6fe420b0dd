// cxx_threads.cc: the C++ allocation paths, for cxx_threads.sh.
//
// Containers and strings from four threads, shared_ptr handed between
// threads, over-aligned new (alignas(256), single and array), nothrow new
// (also of an impossible size), sized and aligned delete, bad_alloc and the
// new-handler loop.  Prints the same lines with and without memgc.  When
// memgc is loaded (found with dlsym, so the binary does not depend on it)
// it also checks that the objects went through memgc and that every
// object allocated in a scope was freed; without memgc those lines print
// the same words, so the script's comparison catches a failure.
#include <dlfcn.h>

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <memory>
#include <mutex>
#include <new>
#include <numeric>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "memgc.h"

namespace {

struct api {
	int (*get_heap_stats)(memgc_heap_stats *);
	int (*is_live)(const void *);
	size_t (*object_size)(const void *);
	bool loaded() const { return get_heap_stats != nullptr; }
} mg;

uint64_t live_objects()
{
	memgc_heap_stats st;
	if (!mg.loaded() || mg.get_heap_stats(&st))
		return 0;
	return st.live_objects;
}

struct alignas(256) Block {
	unsigned char bytes[1000];
	explicit Block(int seed) { std::fill(std::begin(bytes), std::end(bytes), (unsigned char)seed); }
};
static_assert(sizeof(Block) == 1024, "alignas(256) rounds 1000 up to 1024");

struct Record {
	int id;
	std::string name;
	std::vector<int> values;
};

// Each thread works on its own data, plus a queue of shared_ptrs shared
// with the next thread, so objects are freed by a thread that did not
// allocate them.
struct Mailbox {
	std::mutex lock;
	std::vector<std::shared_ptr<Record>> items;
};

struct Result {
	size_t map_size = 0, umap_size = 0, strings = 0, received = 0;
	uint64_t checksum = 0;
	bool aligned = true;
};

std::atomic<int> arrived;

void worker(int k, Mailbox *boxes, Result *out)
{
	Result r;
	std::map<int, std::string> ordered;
	std::unordered_map<std::string, std::vector<int>> hashed;
	std::vector<std::unique_ptr<Block>> blocks;
	uint32_t x = 2463534242u + (uint32_t)k;
	for (int i = 0; i < 60000; i++) {
		x ^= x << 13;
		x ^= x >> 17;
		x ^= x << 5;
		int key = (int)(x % 5000);
		ordered[key] = std::string(key % 40 + 1, (char)('a' + k)) + std::to_string(i);
		auto &v = hashed["h" + std::to_string(key % 700)];
		v.push_back(i);
		if (v.size() > 30)
			v.erase(v.begin(), v.begin() + 20);
		if (i % 8 == 0)
			ordered.erase((int)((x >> 8) % 5000));
		if (i % 50 == 0) {
			blocks.emplace_back(new Block(i));
			if (reinterpret_cast<uintptr_t>(blocks.back().get()) % 256)
				r.aligned = false;
			if (blocks.size() > 40)
				blocks.erase(blocks.begin(), blocks.begin() + 30);
		}
		if (i % 100 == 0) {
			auto rec = std::make_shared<Record>();
			rec->id = k * 1000000 + i;
			rec->name = "record-" + std::to_string(rec->id);
			rec->values.assign(i % 64, k);
			std::lock_guard<std::mutex> g(boxes[(k + 1) % 4].lock);
			boxes[(k + 1) % 4].items.push_back(std::move(rec));
		}
		if (i % 150 == 0) {
			std::vector<std::shared_ptr<Record>> mine;
			{
				std::lock_guard<std::mutex> g(boxes[k].lock);
				mine.swap(boxes[k].items);
			}
			for (auto &p : mine)
				r.checksum += (uint64_t)p->id + p->name.size() + p->values.size();
			r.received += mine.size();
		}   // mine's Records, made by thread k-1, are freed here
	}
	// once every thread has sent all its records, take the last ones, so
	// the counts do not depend on timing
	arrived.fetch_add(1);
	while (arrived.load() < 4)
		std::this_thread::yield();
	{
		std::lock_guard<std::mutex> g(boxes[k].lock);
		for (auto &p : boxes[k].items)
			r.checksum += (uint64_t)p->id + p->name.size() + p->values.size();
		r.received += boxes[k].items.size();
		boxes[k].items.clear();
	}
	for (auto &kv : ordered)
		r.checksum = r.checksum * 31 + (uint64_t)kv.first + kv.second.size();
	for (auto &kv : hashed)
		r.strings += kv.first.size() + kv.second.size();
	r.map_size = ordered.size();
	r.umap_size = hashed.size();
	*out = r;
}

void threads()
{
	Mailbox boxes[4];
	Result res[4];
	std::vector<std::thread> ts;
	for (int k = 0; k < 4; k++)
		ts.emplace_back(worker, k, boxes, &res[k]);
	for (auto &t : ts)
		t.join();
	size_t left = 0;
	for (auto &b : boxes) {
		for (auto &p : b.items)
			res[0].checksum += (uint64_t)p->id;
		left += b.items.size();
	}
	for (int k = 0; k < 4; k++)
		std::printf("thread %d: map %zu umap %zu strings %zu received %zu checksum %llu aligned %s\n",
			    k, res[k].map_size, res[k].umap_size, res[k].strings, res[k].received,
			    (unsigned long long)res[k].checksum, res[k].aligned ? "yes" : "NO");
	std::printf("threads: %zu records left in mailboxes\n", left);
}

// Over-aligned new and delete in every form, and what memgc saw of them.
void aligned()
{
	bool ok = true, seen = true;
	Block *one = new Block(1);
	Block *arr = new Block[7]{Block(2), Block(3), Block(4), Block(5), Block(6), Block(7), Block(8)};
	Block *nt = new (std::nothrow) Block(9);
	ok = ok && nt && reinterpret_cast<uintptr_t>(one) % 256 == 0 &&
	     reinterpret_cast<uintptr_t>(arr) % 256 == 0 && reinterpret_cast<uintptr_t>(nt) % 256 == 0;
	ok = ok && arr[6].bytes[999] == 8 && one->bytes[0] == 1 && nt->bytes[500] == 9;
	if (mg.loaded())
		seen = mg.is_live(one) && mg.object_size(one) == sizeof(Block) && mg.is_live(arr) &&
		       mg.object_size(arr) >= 7 * sizeof(Block) && mg.is_live(nt);
	// once freed, memgc must say so (the address is only compared, never used)
	volatile uintptr_t one_addr = reinterpret_cast<uintptr_t>(one);
	delete one;
	if (mg.loaded())
		seen = seen && !mg.is_live(reinterpret_cast<void *>(one_addr));
	delete[] arr;
	delete nt;
	// the operators themselves, with explicit sizes and alignments
	void *p = ::operator new(3000, std::align_val_t(4096));
	void *q = ::operator new[](100, std::align_val_t(64), std::nothrow);
	ok = ok && reinterpret_cast<uintptr_t>(p) % 4096 == 0 && q && reinterpret_cast<uintptr_t>(q) % 64 == 0;
	if (mg.loaded())
		seen = seen && mg.object_size(p) == 3000 && mg.object_size(q) == 100;
	volatile uintptr_t p_addr = reinterpret_cast<uintptr_t>(p);
	::operator delete(p, 3000, std::align_val_t(4096));
	if (mg.loaded())
		seen = seen && !mg.is_live(reinterpret_cast<void *>(p_addr));
	::operator delete[](q, std::align_val_t(64), std::nothrow);
	std::printf("aligned new: %s, accounted: %s\n", ok ? "ok" : "WRONG", seen ? "yes" : "NO");
}

// Sized delete, nothrow new of an impossible size, bad_alloc, the handler.
int handler_calls;
void handler()
{
	if (++handler_calls == 3)
		std::set_new_handler(nullptr);   // the next failure throws
}

void failures()
{
	volatile size_t huge = (size_t)1 << 60;
	int *a = new int[1000];
	std::iota(a, a + 1000, 0);
	long s = std::accumulate(a, a + 1000, 0L);
	::operator delete[](a, 1000 * sizeof(int));
	std::string *str = new std::string(300, 'z');
	s += (long)str->size();
	::operator delete(nullptr);   // harmless
	str->~basic_string();
	::operator delete(str, sizeof(std::string));
	char *nt = new (std::nothrow) char[huge];
	char *nta = static_cast<char *>(::operator new(huge, std::align_val_t(512), std::nothrow));
	bool thrown = false, thrown_aligned = false;
	try {
		char *c = new char[huge];
		c[0] = 1;
	} catch (const std::bad_alloc &) {
		thrown = true;
	}
	try {
		void *c = ::operator new(huge, std::align_val_t(1024));
		static_cast<char *>(c)[0] = 1;
	} catch (const std::bad_alloc &) {
		thrown_aligned = true;
	}
	std::set_new_handler(handler);
	bool thrown_after_handler = false;
	try {
		void *c = ::operator new(huge);
		static_cast<char *>(c)[0] = 1;
	} catch (const std::bad_alloc &) {
		thrown_after_handler = true;
	}
	std::printf("failures: sum %ld, nothrow %s, aligned nothrow %s, bad_alloc %s/%s, "
		    "handler called %d times then %s\n",
		    s, nt ? "NOT NULL" : "null", nta ? "NOT NULL" : "null", thrown ? "thrown" : "NO",
		    thrown_aligned ? "thrown" : "NO", handler_calls,
		    thrown_after_handler ? "thrown" : "NO");
}

} // namespace

int main()
{
	mg.get_heap_stats = reinterpret_cast<int (*)(memgc_heap_stats *)>(
		dlsym(RTLD_DEFAULT, "memgc_get_heap_stats"));
	mg.is_live = reinterpret_cast<int (*)(const void *)>(dlsym(RTLD_DEFAULT, "memgc_is_live"));
	mg.object_size = reinterpret_cast<size_t (*)(const void *)>(
		dlsym(RTLD_DEFAULT, "memgc_object_size"));
	if (mg.loaded() && (!mg.is_live || !mg.object_size)) {
		std::printf("memgc is half there\n");
		return 1;
	}
	// warm up: the first thread, stdio and the locale allocate for good
	std::printf("cxx_threads\n");
	{
		std::vector<std::thread> ts;
		for (int k = 0; k < 4; k++)
			ts.emplace_back([] {});
		for (auto &t : ts)
			t.join();
	}

	uint64_t before = live_objects();
	threads();
	aligned();
	failures();
	uint64_t after = live_objects();
	// without memgc both are 0
	if (after == before)
		std::printf("every object freed\n");
	else
		std::printf("LEAKED %lld objects\n", (long long)(after - before));
	return 3;
}
