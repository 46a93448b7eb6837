/* rrl.c: creating and configuring a Response Rate Limiting table; the
 * per-response path is inline in rrl.h.  Plain C, no Python.h. */
#include "rrl.h"

#include <stdlib.h>

#define ZF_CACHELINE_RRL 64

void rrl_config_default(rrl_config_t *c)
{
    c->responses_per_second = 20;
    c->slip = 2;
    c->window = 1;
    c->ipv4_prefix = 24;
    c->ipv6_prefix = 56;
    c->table_size = 65536;
}

static uint32_t round_pow2(uint32_t n)
{
    uint32_t p = RRL_WAYS;
    while (p < n && p < (1u << 24)) /* 256 MiB at most */
        p <<= 1;
    return p;
}

/* The first bits bits of a 16-octet address as two words in memory order. */
static void mask_v6(unsigned bits, uint64_t out[2])
{
    uint8_t m[16] = {0};
    for (unsigned i = 0; i < 16; i++) {
        if (bits >= 8) {
            m[i] = 0xFF;
            bits -= 8;
        } else {
            m[i] = (uint8_t)(0xFF00u >> bits);
            bits = 0;
        }
    }
    memcpy(out, m, 16);
}

rrl_t *rrl_new(const rrl_config_t *c)
{
    if (c->responses_per_second == 0)
        return NULL;
    rrl_t *r = calloc(1, sizeof(*r));
    if (!r)
        return NULL;
    r->config = *c;
    if (r->config.window == 0)
        r->config.window = 1;
    if (r->config.ipv4_prefix > 32)
        r->config.ipv4_prefix = 32;
    if (r->config.ipv6_prefix > 128)
        r->config.ipv6_prefix = 128;
    r->config.table_size = round_pow2(c->table_size);

    uint64_t burst = (uint64_t)r->config.responses_per_second * r->config.window;
    if (burst > RRL_MAX_BURST)
        burst = RRL_MAX_BURST;
    r->capacity = (int32_t)(burst * RRL_UNIT);
    /* Refill per ms is rate * RRL_UNIT / 1000 tokens = rate. */
    r->rate = r->config.responses_per_second;
    r->slip = r->config.slip;
    unsigned b4 = r->config.ipv4_prefix;
    r->mask4 = b4 ? htonl(b4 >= 32 ? 0xFFFFFFFFu : ~(0xFFFFFFFFu >> b4)) : 0;
    mask_v6(r->config.ipv6_prefix, r->mask6);

    size_t bytes = (size_t)r->config.table_size * sizeof(rrl_entry_t);
    r->entries = aligned_alloc(ZF_CACHELINE_RRL, bytes);
    if (!r->entries) {
        free(r);
        return NULL;
    }
    memset(r->entries, 0, bytes);
    r->set_mask = r->config.table_size / RRL_WAYS - 1;
    r->epoch_ms = rrl_clock_ms();
    r->now = 0;
    return r;
}

void rrl_free(rrl_t *r)
{
    if (!r)
        return;
    free(r->entries);
    free(r);
}
