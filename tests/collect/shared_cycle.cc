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

__attribute__((noinline)) static void make_cycle()
{
	auto a = std::make_shared<Peer>("a");
	auto b = std::make_shared<Peer>("b");
	a->other = b;
	b->other = a;
}

int main()
{
	make_cycle();
	auto alive = std::make_shared<Peer>("kept");   // reachable from main's frame
	std::printf("%s\n", alive->name.c_str());
	return 0;
}
