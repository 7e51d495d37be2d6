// SPDX-License-Identifier: BSD-3-Clause
/* A connection's tunnels (tunparents.h): entries for the connections seen through more than
 * one tunnel, in a chained hash on the flow's address that doubles as it fills. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "mailtap/tunnels.h"
#include "mailtap/tunparents.h"

struct tp_entry {
	struct tp_entry *next;
	const struct flow *f;
	uint16_t ref[TUN_PARENTS_MAX]; /* tunnels.h references, each held once */
	uint8_t n;
	uint8_t refused; /* a tunnel found no room in the tunnel table */
};

struct tun_parents {
	struct tunnels *t;
	struct tp_entry **bucket; /* NULL until the first entry */
	uint32_t mask;
	struct tun_parents_stats st;
};

struct tun_parents *tun_parents__new(struct tunnels *t)
{
	struct tun_parents *s = calloc(1, sizeof(*s));

	if (!s)
		return NULL;
	s->t = t;
	return s;
}

void tun_parents__free(struct tun_parents *s)
{
	if (!s)
		return;
	for (uint32_t i = 0; s->bucket && i <= s->mask; i++)
		while (s->bucket[i]) {
			struct tp_entry *x = s->bucket[i];

			s->bucket[i] = x->next;
			for (int k = 0; k < x->n; k++)
				tunnels__put(s->t, x->ref[k]);
			free(x);
		}
	free(s->bucket);
	free(s);
}

/* A flow's place in a table of mask + 1 buckets (its address, multiplied: the high bits). */
static uint32_t slot(const struct flow *f, uint32_t mask)
{
	return (uint32_t)(((uint64_t)(uintptr_t)f * 0x9e3779b97f4a7c15ULL) >> 32) & mask;
}

static struct tp_entry **find(struct tun_parents *s, const struct flow *f)
{
	struct tp_entry **pp;

	if (!s->bucket)
		return NULL;
	for (pp = &s->bucket[slot(f, s->mask)]; *pp; pp = &(*pp)->next)
		if ((*pp)->f == f)
			return pp;
	return NULL;
}

/* Room for one more entry: the table doubles when it holds as many entries as buckets. */
static int reserve(struct tun_parents *s)
{
	uint32_t nb = s->bucket ? (s->mask + 1) * 2 : 64;
	struct tp_entry **nbk;

	if (s->bucket && s->st.multi_active < s->mask + 1)
		return 0;
	if (nb > (1u << 30))
		return s->bucket ? 0 : -ENOMEM;
	nbk = calloc(nb, sizeof(*nbk));
	if (!nbk)
		return s->bucket ? 0 : -ENOMEM; /* longer chains rather than none */
	for (uint32_t i = 0; s->bucket && i <= s->mask; i++)
		while (s->bucket[i]) {
			struct tp_entry *x = s->bucket[i];
			uint32_t j = slot(x->f, nb - 1);

			s->bucket[i] = x->next;
			x->next = nbk[j];
			nbk[j] = x;
		}
	free(s->bucket);
	s->bucket = nbk;
	s->mask = nb - 1;
	return 0;
}

void tun_parents__packet(struct tun_parents *s, struct flow *f, const struct pkt *p, uint64_t ts_ns)
{
	struct tp_entry **pp, *x;
	uint16_t ref;

	if (!p->tun.type || f->tunnel == TUNNELS_NO_ROOM ||
	    (f->tunnel && tunnels__same(s->t, f->tunnel, p)))
		return;
	if (!f->tunnel) { /* its first tunnel */
		ref = tunnels__get(s->t, p, ts_ns);
		f->tunnel = ref ? ref : TUNNELS_NO_ROOM;
		return;
	}
	s->st.changes++;
	pp = find(s, f);
	if (pp) {
		x = *pp;
		for (int k = 0; k < x->n; k++)
			if (x->ref[k] != f->tunnel && tunnels__same(s->t, x->ref[k], p)) {
				f->tunnel = x->ref[k];
				return;
			}
		if (x->refused || x->n == TUN_PARENTS_MAX) {
			s->st.full++;
			return;
		}
	} else {
		if (reserve(s) < 0 || !(x = calloc(1, sizeof(*x)))) {
			s->st.full++;
			return;
		}
		x->f = f;
		x->ref[x->n++] = f->tunnel;
		x->next = s->bucket[slot(f, s->mask)];
		s->bucket[slot(f, s->mask)] = x;
		s->st.multi++;
		s->st.multi_active++;
	}
	ref = tunnels__get(s->t, p, ts_ns);
	if (!ref) { /* no room in the tunnel table (counted there): not asked again */
		x->refused = 1;
		s->st.full++;
		return;
	}
	x->ref[x->n++] = ref;
	f->tunnel = ref;
}

int tun_parents__uids(struct tun_parents *s, const struct flow *f,
		      char uids[TUN_PARENTS_MAX][MT_UID_LEN])
{
	struct tp_entry **pp;

	if (!f->tunnel || f->tunnel == TUNNELS_NO_ROOM)
		return 0;
	pp = s->st.multi_active ? find(s, f) : NULL;
	if (!pp) {
		tunnels__uid(s->t, f->tunnel, uids[0]);
		return 1;
	}
	for (int k = 0; k < (*pp)->n; k++)
		tunnels__uid(s->t, (*pp)->ref[k], uids[k]);
	return (*pp)->n;
}

void tun_parents__end(struct tun_parents *s, struct flow *f)
{
	struct tp_entry **pp, *x;

	if (!f->tunnel || f->tunnel == TUNNELS_NO_ROOM) {
		f->tunnel = 0;
		return;
	}
	pp = s->st.multi_active ? find(s, f) : NULL;
	if (!pp) {
		tunnels__put(s->t, f->tunnel);
	} else {
		x = *pp;
		*pp = x->next;
		for (int k = 0; k < x->n; k++)
			tunnels__put(s->t, x->ref[k]);
		free(x);
		s->st.multi_active--;
	}
	f->tunnel = 0;
}

void tun_parents__stats(const struct tun_parents *s, struct tun_parents_stats *st)
{
	*st = s->st;
}
