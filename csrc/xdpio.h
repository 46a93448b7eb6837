/* xdpio.h: the AF_XDP data path: the XDP program's attachment, one AF_XDP
 * socket per (queue, worker), and the receive -> answer -> transmit loop that
 * feeds the same engine as udpio.c.
 *
 * Plain C, no Python.h.  Needs libxdp (xsk) and libbpf.
 */
#ifndef ZF_XDPIO_H
#define ZF_XDPIO_H

#include <stdint.h>
#include <stddef.h>

#include "udpio.h"
#include "xdpkey.h"
#include "zfdefer.h"

#define ZF_XDP_MAX_BATCH 256

/* ------------------------------------------------------------------------
 * The XDP program on one interface
 * ------------------------------------------------------------------------ */

typedef struct zf_xdp_prog zf_xdp_prog_t;

/* Loads obj_path (xdp_redirect.bpf.o) and attaches it to ifname through a
 * bpf_link, so closing the link (or the process dying) detaches it.  NULL
 * on failure, with the reason in err. */
zf_xdp_prog_t *xdpio_prog_attach(const char *obj_path, const char *ifname, char *err,
                                 size_t errlen);
/* Redirects UDP to (family 4|6, addr 4|16 octets or NULL for any, port). */
int xdpio_prog_listen(zf_xdp_prog_t *p, int family, const uint8_t *addr, uint16_t port);
/* Detaches and frees (idempotent per pointer: call once). */
void xdpio_prog_detach(zf_xdp_prog_t *p);
int xdpio_prog_ifindex(const zf_xdp_prog_t *p);
/* "native" or "generic": how the kernel runs the program. */
const char *xdpio_prog_mode(const zf_xdp_prog_t *p);
/* Number of rx queues of ifname (from /sys/class/net), at least 1. */
int xdpio_queue_count(const char *ifname);

/* ------------------------------------------------------------------------
 * One worker: one AF_XDP socket on one queue, with its own UMEM
 * ------------------------------------------------------------------------ */

typedef struct zf_xdp_stats {
    uint64_t queries;     /* frames redirected to us that held a query */
    uint64_t responses;   /* replies handed to the transmit ring */
    uint64_t dropped;     /* no answer, rate limited away, or no room to send */
    uint64_t batches;     /* receive rounds that returned frames */
    uint64_t errors;      /* unexpected socket errors */
    uint64_t rrl_dropped; /* answers rate limited away (also counted in dropped) */
    uint64_t rrl_slipped; /* rate limited answers sent as TC=1 (counted in responses) */
    uint64_t invalid;     /* frames that were not a well-formed UDP datagram */
} zf_xdp_stats_t;

typedef struct zf_xdp_worker zf_xdp_worker_t;

/* An AF_XDP socket bound to (ifname, queue) and registered in p's map.
 * NULL on failure, with the reason in err. */
zf_xdp_worker_t *xdpio_worker_new(zf_xdp_prog_t *p, const char *ifname, unsigned queue,
                                  zf_slot_t *slot, unsigned batch, char *err, size_t errlen);
void xdpio_worker_free(zf_xdp_worker_t *w);
/* Blocks until xdpio_worker_stop() or zf_slot_stop(); 0, or -errno. */
int xdpio_worker_run(zf_xdp_worker_t *w);
void xdpio_worker_stop(zf_xdp_worker_t *w);
/* Same rules as udpio_worker_set_rrl/_set_counters: only while not running. */
void xdpio_worker_set_rrl(zf_xdp_worker_t *w, rrl_t *rrl);
void xdpio_worker_set_counters(zf_xdp_worker_t *w, zf_stats_t *st, uint16_t port);
void xdpio_worker_stats(const zf_xdp_worker_t *w, zf_xdp_stats_t *out);
/* The recursive fallback (zfdefer.h): a query the engine defers is queued
 * with the kernel UDP socket of the address it was sent to, and the
 * forwarder answers from that socket; q NULL answers it as the engine does
 * without one.  Not while running. */
void xdpio_worker_set_defer(zf_xdp_worker_t *w, zf_defer_q_t *q);
/* The socket that answers deferred queries sent to (family, addr or NULL
 * for any address, port); at most ZF_XDP_MAX_REPLY_FDS.  0, or -1 full. */
int xdpio_worker_reply_fd(zf_xdp_worker_t *w, int family, const uint8_t *addr, uint16_t port,
                          int fd);
#define ZF_XDP_MAX_REPLY_FDS 16
/* 1 if the socket is bound in zero-copy mode. */
int xdpio_worker_zerocopy(const zf_xdp_worker_t *w);

#endif
