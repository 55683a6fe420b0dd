// shared_cycle.cc: two std::shared_ptr objects that own each other, dropped:
// reference counting never frees them; the leak check reports one cycle of
// two objects (make_shared puts the count and the object in one block).
#include <cstdio>
#include <memory>
#include <string>

struct Peer {
	std::shared_ptr<Peer> other;
	std::string name;
	explicit Peer(const char *n) : name(n) {}
};

__attribute__((noipa)) static void make_cycle()
{
	auto a = std::make_shared<Peer>("a");
	auto b = std::make_shared<Peer>("b");
	a->other = b;
	b->other = a;
}

// Overwrites the dead stack below main, where make_cycle's frame held a and
// b: a stale copy there would keep the cycle reachable.
__attribute__((noipa)) static void scrub()
{
	volatile char junk[65536];
	for (auto &c : junk)
		c = 0;
}

int main()
{
	make_cycle();
	scrub();
	auto alive = std::make_shared<Peer>("kept");   // reachable from main's frame
	std::printf("%s\n", alive->name.c_str());
	return 0;
}
