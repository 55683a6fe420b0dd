/* leaks.c: leaks with known truth, for the exit leak check.
 *
 *   a plain leak           1 direct object of 1000 bytes (leak_plain)
 *   a leaked list          1 direct head (leak_list) + N indirect nodes (list_node)
 *   a 2-node ring          1 cycle of 2 objects (ring_node)
 *   a 10^4-node ring       1 cycle of 10000 objects (ring_node)
 * and, kept reachable, a list of 100 nodes from a global and an ignored
 * object: none of them may be reported.  leaks.sh reads the JSON report.
 * noipa: the compiler must not see that the objects never escape, or it
 * drops the stores that link them.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#pragma weak memgc_ignore
int memgc_ignore(const void *p);

struct node { struct node *next; char pad[40]; };

void *volatile kept;
/* Every object goes through here once: GCC drops a malloc whose result
 * never escapes, and the stores into it. */
void *volatile sink;

__attribute__((noipa)) void leak_plain(void)
{
	char *p = malloc(1000);
	memset(p, 1, 1000);
	sink = p;
}

__attribute__((noipa)) struct node *list_node(struct node *next)
{
	struct node *n = malloc(sizeof *n);
	memset(n, 0, sizeof *n);
	n->next = next;
	sink = n;
	return n;
}

__attribute__((noipa)) void leak_list(int n)
{
	struct node *l = NULL;
	for (int i = 0; i < n; i++)
		l = list_node(l);
	struct node **head = malloc(sizeof *head);   /* the one direct object */
	*head = l;
	sink = head;
}

__attribute__((noipa)) struct node *ring_node(void)
{
	struct node *n = malloc(sizeof *n);
	memset(n, 0, sizeof *n);
	sink = n;
	return n;
}

__attribute__((noipa)) void leak_ring(int n)
{
	struct node *first = ring_node(), *last = first;
	for (int i = 1; i < n; i++) {
		struct node *x = ring_node();
		last->next = x;
		last = x;
	}
	last->next = first;
}

__attribute__((noipa)) void keep_some(void)
{
	struct node *l = NULL;
	for (int i = 0; i < 100; i++)
		l = list_node(l);
	kept = l;
	void *ignored = malloc(300);
	sink = ignored;
	if (memgc_ignore)
		memgc_ignore(ignored);
}

__attribute__((noipa)) static void scrub(void)
{
	volatile char junk[65536];
	memset((char *)junk, 0, sizeof junk);
}

int main(int argc, char **argv)
{
	int n = argc > 1 ? atoi(argv[1]) : 50;
	if (argc > 2 && !strcmp(argv[2], "clean"))
		return 0;       /* leaks nothing: for exitcode= */
	leak_plain();
	leak_list(n);
	leak_ring(2);
	leak_ring(10000);
	keep_some();
	sink = NULL;
	scrub();
	return 0;
}
