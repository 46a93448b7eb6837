/* xdpio.c: the AF_XDP data path (rings -> parse -> answer in place -> rings),
 * and the attachment of the XDP program that feeds it.  Plain C; the loop
 * runs with the GIL released, like udpio.c whose structure it follows. */
#define _GNU_SOURCE
#include "xdpio.h"
#include "zfdebug.h"

#include <errno.h>
#include <net/if.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <linux/if_link.h>
#include <linux/if_xdp.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <xdp/xsk.h>

/* One UMEM per socket: 4096 frames of 4 KiB (16 MiB), pinned once.  Half
 * start in the fill ring, half wait in the free stack; a frame that carried a
 * query goes out as its reply and comes back through the completion ring.
 * Nothing is allocated per packet, so a flood cannot grow memory: when the
 * fill ring is empty the kernel drops (and counts) the frame for us. */
#define XDP_FRAME_SIZE XSK_UMEM__DEFAULT_FRAME_SIZE
#define XDP_RING 2048
#define XDP_FRAMES (2 * XDP_RING)
#define XDP_KICKS 64 /* generic (copy) transmit sends 32 per kick */

#define ETH_HLEN_ 14
#define IP4_HLEN 20
#define IP6_HLEN 40
#define UDP_HLEN 8

#define STAT_ADD(field, n) \
    __atomic_store_n(&(field), (field) + (uint64_t)(n), __ATOMIC_RELAXED)

static void set_err(char *err, size_t errlen, const char *fmt, ...)
{
    if (!err || !errlen)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
}

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* libbpf's own INFO/DEBUG lines are noise in a server log; warnings stay. */
static int quiet_print(enum libbpf_print_level level, const char *fmt, va_list ap)
{
    if (level != LIBBPF_WARN)
        return 0;
    return vfprintf(stderr, fmt, ap);
}

/* ------------------------------------------------------------------------
 * The program
 * ------------------------------------------------------------------------ */

struct zf_xdp_prog {
    struct bpf_object *obj; /* owns the maps and the program */
    struct bpf_link *link;  /* the attachment; destroying it detaches */
    int xsks_fd;            /* zf_xsks: rx queue -> AF_XDP socket */
    int listen_fd;          /* zf_listen: (family, address, port) -> 1 */
    int ifindex;
    int mode;               /* XDP_ATTACHED_DRV / _SKB */
};

static const char *hint_for(int e)
{
    switch (e) {
    case EPERM:
    case EACCES:
        return " (needs CAP_BPF and CAP_NET_ADMIN, or root)";
    case EBUSY:
    case EEXIST:
        return " (another XDP program is attached to the interface)";
    case EOPNOTSUPP:
    case EINVAL:
        return " (driver or kernel lacks XDP support)";
    default:
        return "";
    }
}

zf_xdp_prog_t *xdpio_prog_attach(const char *obj_path, const char *ifname, char *err,
                                 size_t errlen)
{
    libbpf_set_print(quiet_print);
    int ifindex = (int)if_nametoindex(ifname);
    if (ifindex == 0) {
        set_err(err, errlen, "no interface %s", ifname);
        return NULL;
    }
    zf_xdp_prog_t *p = calloc(1, sizeof(*p));
    if (!p) {
        set_err(err, errlen, "out of memory");
        return NULL;
    }
    p->ifindex = ifindex;
    p->xsks_fd = p->listen_fd = -1;
    p->obj = bpf_object__open_file(obj_path, NULL);
    if (!p->obj) {
        int e = errno;
        set_err(err, errlen, "cannot open %s: %s", obj_path, strerror(e));
        goto fail;
    }
    if (bpf_object__load(p->obj) != 0) {
        int e = errno;
        set_err(err, errlen, "cannot load the XDP program: %s%s", strerror(e), hint_for(e));
        goto fail;
    }
    struct bpf_program *prog = bpf_object__find_program_by_name(p->obj, "zf_xdp_redirect");
    p->xsks_fd = bpf_object__find_map_fd_by_name(p->obj, "zf_xsks");
    p->listen_fd = bpf_object__find_map_fd_by_name(p->obj, "zf_listen");
    if (!prog || p->xsks_fd < 0 || p->listen_fd < 0) {
        set_err(err, errlen, "%s is not zonefront's XDP program", obj_path);
        goto fail;
    }
    p->link = bpf_program__attach_xdp(prog, ifindex);
    if (!p->link) {
        int e = errno;
        set_err(err, errlen, "cannot attach XDP to %s: %s%s", ifname, strerror(e), hint_for(e));
        goto fail;
    }
    LIBBPF_OPTS(bpf_xdp_query_opts, q);
    if (bpf_xdp_query(ifindex, 0, &q) == 0)
        p->mode = q.attach_mode;
    return p;
fail:
    xdpio_prog_detach(p);
    return NULL;
}

int xdpio_prog_listen(zf_xdp_prog_t *p, int family, const uint8_t *addr, uint16_t port)
{
    struct zf_xdp_key key;
    uint8_t one = 1;
    memset(&key, 0, sizeof(key));
    if (family != 4 && family != 6)
        return -EINVAL;
    key.family = (uint8_t)family;
    key.port = htons(port);
    if (addr)
        memcpy(key.addr, addr, family == 4 ? 4 : 16);
    return bpf_map_update_elem(p->listen_fd, &key, &one, 0) == 0 ? 0 : -errno;
}

void xdpio_prog_detach(zf_xdp_prog_t *p)
{
    if (!p)
        return;
    if (p->link)
        bpf_link__destroy(p->link);
    if (p->obj)
        bpf_object__close(p->obj);
    free(p);
}

int xdpio_prog_ifindex(const zf_xdp_prog_t *p)
{
    return p->ifindex;
}

const char *xdpio_prog_mode(const zf_xdp_prog_t *p)
{
    switch (p->mode) {
    case XDP_ATTACHED_DRV:
        return "native";
    case XDP_ATTACHED_SKB:
        return "generic";
    case XDP_ATTACHED_HW:
        return "offload";
    default:
        return "unknown";
    }
}

int xdpio_queue_count(const char *ifname)
{
    char path[128];
    int n = 0;
    for (;;) {
        snprintf(path, sizeof(path), "/sys/class/net/%s/queues/rx-%d", ifname, n);
        if (access(path, F_OK) != 0)
            break;
        n++;
    }
    return n ? n : 1;
}

/* ------------------------------------------------------------------------
 * Frames
 * ------------------------------------------------------------------------ */

/* What the parse learnt about frame i of a batch. */
typedef struct xdp_pkt {
    uint64_t addr;     /* UMEM offset of the frame's first octet */
    uint8_t *data;     /* the frame (Ethernet header) */
    uint8_t *payload;  /* the DNS message */
    uint32_t qlen;     /* its length */
    uint32_t room;     /* octets from data to the end of the UMEM frame */
    uint16_t l4off;    /* offset of the UDP header */
    uint8_t family;    /* 4 or 6; 0 = not a datagram we answer */
} xdp_pkt_t;

static inline uint16_t ld16(const uint8_t *p)
{
    return (uint16_t)(p[0] << 8 | p[1]);
}

static inline void st16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
}

/* Checks what the XDP program let through once more (a redirected frame is
 * ours to drop, never to misread) and fills k and the client address.
 * The UDP checksum is not verified: on veth (and other virtual devices) a
 * locally sent datagram carries only the pseudo-header part (checksum
 * offload), which the kernel trusts and so must we; NICs check it. */
static int parse_frame(uint8_t *d, uint32_t len, xdp_pkt_t *k, struct sockaddr_storage *src)
{
    k->family = 0;
    if (len < ETH_HLEN_ + IP4_HLEN + UDP_HLEN)
        return 0;
    uint16_t type = ld16(d + 12);
    uint8_t *ip = d + ETH_HLEN_;
    uint8_t *udp;
    uint32_t ulen;
    if (type == 0x0800) {
        uint32_t tot = ld16(ip + 2);
        if (ip[0] != 0x45 || ip[9] != IPPROTO_UDP || (ld16(ip + 6) & 0x3FFF) ||
            tot < IP4_HLEN + UDP_HLEN || ETH_HLEN_ + tot > len)
            return 0;
        udp = ip + IP4_HLEN;
        ulen = ld16(udp + 4);
        if (ulen < UDP_HLEN || ulen > tot - IP4_HLEN)
            return 0;
        struct sockaddr_in *a = (struct sockaddr_in *)src;
        a->sin_family = AF_INET;
        memcpy(&a->sin_port, udp, 2);
        memcpy(&a->sin_addr, ip + 12, 4);
        k->family = 4;
    } else if (type == 0x86DD) {
        if (len < ETH_HLEN_ + IP6_HLEN + UDP_HLEN)
            return 0;
        uint32_t plen = ld16(ip + 4);
        if ((ip[0] >> 4) != 6 || ip[6] != IPPROTO_UDP || plen < UDP_HLEN ||
            ETH_HLEN_ + IP6_HLEN + plen > len)
            return 0;
        udp = ip + IP6_HLEN;
        ulen = ld16(udp + 4);
        if (ulen < UDP_HLEN || ulen > plen)
            return 0;
        struct sockaddr_in6 *a = (struct sockaddr_in6 *)src;
        memset(a, 0, sizeof(*a));
        a->sin6_family = AF_INET6;
        memcpy(&a->sin6_port, udp, 2);
        memcpy(&a->sin6_addr, ip + 8, 16);
        k->family = 6;
    } else {
        return 0;
    }
    k->data = d;
    k->l4off = (uint16_t)(udp - d);
    k->payload = udp + UDP_HLEN;
    k->qlen = ulen - UDP_HLEN;
    return 1;
}

/* One's complement sum of len octets, folded later by csum_fold. */
static inline uint64_t csum_add(uint64_t sum, const uint8_t *p, size_t len)
{
    while (len >= 4) {
        uint32_t w;
        memcpy(&w, p, 4);
        sum += w;
        p += 4;
        len -= 4;
    }
    if (len >= 2) {
        uint16_t h;
        memcpy(&h, p, 2);
        sum += h;
        p += 2;
        len -= 2;
    }
    if (len) {
        uint16_t h = 0;
        memcpy(&h, p, 1); /* the odd octet, padded with zero in wire order */
        sum += h;
    }
    return sum;
}

static inline uint16_t csum_fold(uint64_t sum)
{
    while (sum >> 16)
        sum = (sum & 0xFFFF) + (sum >> 16);
    return (uint16_t)~sum;
}

/* Turns the query frame into the reply to it: swap MACs, addresses and
 * ports, set lengths, checksums and TTL; the DNS reply (rlen octets) is
 * already at k->payload.  Returns the frame length. */
static uint32_t write_reply(const xdp_pkt_t *k, uint32_t rlen)
{
    uint8_t *d = k->data, tmp[16];
    uint8_t *ip = d + ETH_HLEN_;
    uint8_t *udp = d + k->l4off;
    uint32_t ulen = UDP_HLEN + rlen;
    uint64_t sum;

    memcpy(tmp, d, 6);
    memcpy(d, d + 6, 6);
    memcpy(d + 6, tmp, 6);
    memcpy(tmp, udp, 2);
    memcpy(udp, udp + 2, 2);
    memcpy(udp + 2, tmp, 2);
    st16(udp + 4, (uint16_t)ulen);
    udp[6] = udp[7] = 0;
    if (k->family == 4) {
        memcpy(tmp, ip + 12, 4);
        memcpy(ip + 12, ip + 16, 4);
        memcpy(ip + 16, tmp, 4);
        st16(ip + 2, (uint16_t)(IP4_HLEN + ulen));
        st16(ip + 6, 0);   /* no DF, as the kernel path sends (IP_PMTUDISC_OMIT) */
        ip[8] = 64;        /* TTL */
        ip[10] = ip[11] = 0;
        uint16_t c = csum_fold(csum_add(0, ip, IP4_HLEN));
        memcpy(ip + 10, &c, 2);
        sum = csum_add(0, ip + 12, 8);
    } else {
        memcpy(tmp, ip + 8, 16);
        memcpy(ip + 8, ip + 24, 16);
        memcpy(ip + 24, tmp, 16);
        st16(ip + 4, (uint16_t)ulen);
        ip[7] = 64;        /* hop limit */
        sum = csum_add(0, ip + 8, 32);
    }
    /* pseudo-header: protocol and UDP length, then the datagram itself */
    sum += htons(IPPROTO_UDP) + htons((uint16_t)ulen);
    sum = csum_add(sum, udp, ulen);
    uint16_t c = csum_fold(sum);
    if (c == 0)
        c = 0xFFFF; /* zero means "no checksum" in UDP (RFC 768) */
    memcpy(udp + 6, &c, 2);
    return k->l4off + ulen;
}

/* ------------------------------------------------------------------------
 * Worker
 * ------------------------------------------------------------------------ */

struct zf_xdp_worker {
    /* hot, read-mostly */
    struct xsk_ring_cons rx;
    struct xsk_ring_prod tx;
    struct xsk_ring_prod fill;
    struct xsk_ring_cons comp;
    uint8_t *area;            /* the UMEM: XDP_FRAMES * XDP_FRAME_SIZE */
    int fd;                   /* the AF_XDP socket */
    unsigned batch;           /* frames taken per round */
    unsigned mtu;             /* of the interface: replies never exceed it */
    int reader;               /* record in slot->readers, -1 until run */
    zf_slot_t *slot;
    rrl_t *rrl;               /* or NULL */
    zf_stats_t *counters;     /* or NULL */
    zf_defer_q_t *defer;      /* the recursive fallback's queue, or NULL */
    unsigned nreply;          /* reply[0, nreply): which kernel socket answers a deferral */
    struct {
        uint8_t family, any;
        uint16_t port;        /* host order */
        uint8_t addr[16];
        int fd;
    } reply[ZF_XDP_MAX_REPLY_FDS];
    _Atomic int stop;
    uint64_t rng;             /* xorshift64* state; per-batch policy seed */
    uint64_t *free_frames;    /* UMEM offsets not in any ring */
    unsigned nfree;
    xdp_pkt_t *pkts;          /* one per frame of the batch */
    struct sockaddr_storage *srcs; /* client of frame i */
    zf_hint_t *hints;         /* the engine's prefetch state, one per frame */
    uint64_t *tx_addr;        /* replies of this round */
    uint32_t *tx_len;
    uint8_t *scratch;         /* the query, moved aside while its reply is written over it */
    struct xsk_umem *umem;
    struct xsk_socket *xsk;
    zf_xdp_prog_t *prog;
    unsigned queue;
    int zerocopy;
    _Alignas(ZF_CACHELINE) zf_xdp_stats_t stats; /* written by this worker only */
};

static unsigned iface_mtu(const char *ifname)
{
    struct ifreq ifr;
    unsigned mtu = 1500;
    int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (s < 0)
        return mtu;
    memset(&ifr, 0, sizeof(ifr));
    snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", ifname);
    if (ioctl(s, SIOCGIFMTU, &ifr) == 0 && ifr.ifr_mtu > 0)
        mtu = (unsigned)ifr.ifr_mtu;
    close(s);
    return mtu;
}

zf_xdp_worker_t *xdpio_worker_new(zf_xdp_prog_t *p, const char *ifname, unsigned queue,
                                  zf_slot_t *slot, unsigned batch, char *err, size_t errlen)
{
    if (batch == 0)
        batch = 64;
    if (batch > ZF_XDP_MAX_BATCH)
        batch = ZF_XDP_MAX_BATCH;
    if (queue >= ZF_XDP_MAX_QUEUES) {
        set_err(err, errlen, "queue %u: at most %d queues", queue, ZF_XDP_MAX_QUEUES);
        return NULL;
    }
    zf_xdp_worker_t *w = aligned_alloc(ZF_CACHELINE, (sizeof(*w) + ZF_CACHELINE - 1) &
                                                         ~(size_t)(ZF_CACHELINE - 1));
    if (!w) {
        set_err(err, errlen, "out of memory");
        return NULL;
    }
    memset(w, 0, sizeof(*w));
    w->fd = -1;
    w->batch = batch;
    w->reader = -1;
    w->slot = slot;
    w->prog = p;
    w->queue = queue;
    w->mtu = iface_mtu(ifname);
    atomic_init(&w->stop, 0);
    w->rng = (now_ns() ^ ((uint64_t)(uintptr_t)w << 16) ^ (uint64_t)(queue + 1) * 0x9E3779B97F4A7C15ull) | 1;
    w->free_frames = calloc(XDP_FRAMES, sizeof(*w->free_frames));
    w->pkts = calloc(batch, sizeof(*w->pkts));
    w->srcs = calloc(batch, sizeof(*w->srcs));
    w->hints = calloc(batch, sizeof(*w->hints));
    w->tx_addr = calloc(batch, sizeof(*w->tx_addr));
    w->tx_len = calloc(batch, sizeof(*w->tx_len));
    w->scratch = aligned_alloc(ZF_CACHELINE, XDP_FRAME_SIZE);
    if (!w->free_frames || !w->pkts || !w->srcs || !w->hints || !w->tx_addr || !w->tx_len ||
        !w->scratch) {
        set_err(err, errlen, "out of memory");
        goto fail;
    }
    size_t size = (size_t)XDP_FRAMES * XDP_FRAME_SIZE;
    void *area = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE,
                      -1, 0);
    if (area == MAP_FAILED) {
        set_err(err, errlen, "UMEM: %s", strerror(errno));
        goto fail;
    }
    w->area = area;
    struct xsk_umem_config uc = {
        .fill_size = XDP_RING,
        .comp_size = XDP_RING,
        .frame_size = XDP_FRAME_SIZE,
        .frame_headroom = 0,
        .flags = 0,
    };
    int rc = xsk_umem__create(&w->umem, w->area, size, &w->fill, &w->comp, &uc);
    if (rc) {
        set_err(err, errlen, "UMEM registration: %s%s", strerror(-rc), hint_for(-rc));
        w->umem = NULL;
        goto fail;
    }
    struct xsk_socket_config sc;
    memset(&sc, 0, sizeof(sc));
    sc.rx_size = XDP_RING;
    sc.tx_size = XDP_RING;
    sc.libxdp_flags = XSK_LIBXDP_FLAGS__INHIBIT_PROG_LOAD; /* ours is attached already */
    sc.bind_flags = XDP_USE_NEED_WAKEUP;
    rc = xsk_socket__create(&w->xsk, ifname, queue, w->umem, &w->rx, &w->tx, &sc);
    if (rc) {
        set_err(err, errlen, "AF_XDP socket on %s queue %u: %s%s", ifname, queue, strerror(-rc),
                hint_for(-rc));
        w->xsk = NULL;
        goto fail;
    }
    w->fd = xsk_socket__fd(w->xsk);
    struct xdp_options opts;
    socklen_t optlen = sizeof(opts);
    if (getsockopt(w->fd, SOL_XDP, XDP_OPTIONS, &opts, &optlen) == 0)
        w->zerocopy = (opts.flags & XDP_OPTIONS_ZEROCOPY) != 0;

    uint32_t idx;
    if (xsk_ring_prod__reserve(&w->fill, XDP_RING, &idx) != XDP_RING) {
        set_err(err, errlen, "fill ring refused its frames");
        goto fail;
    }
    for (unsigned i = 0; i < XDP_RING; i++)
        *xsk_ring_prod__fill_addr(&w->fill, idx + i) = (uint64_t)i * XDP_FRAME_SIZE;
    xsk_ring_prod__submit(&w->fill, XDP_RING);
    for (unsigned i = XDP_RING; i < XDP_FRAMES; i++)
        w->free_frames[w->nfree++] = (uint64_t)i * XDP_FRAME_SIZE;

    if (bpf_map_update_elem(p->xsks_fd, &queue, &w->fd, 0) != 0) {
        set_err(err, errlen, "cannot register the socket for queue %u: %s", queue, strerror(errno));
        goto fail;
    }
    return w;
fail:
    xdpio_worker_free(w);
    return NULL;
}

void xdpio_worker_free(zf_xdp_worker_t *w)
{
    if (!w)
        return;
    if (w->xsk) {
        uint32_t q = w->queue;
        (void)bpf_map_delete_elem(w->prog->xsks_fd, &q);
        xsk_socket__delete(w->xsk);
    }
    if (w->umem)
        xsk_umem__delete(w->umem);
    if (w->area)
        munmap(w->area, (size_t)XDP_FRAMES * XDP_FRAME_SIZE);
    free(w->free_frames);
    free(w->pkts);
    free(w->srcs);
    free(w->hints);
    free(w->tx_addr);
    free(w->tx_len);
    free(w->scratch);
    free(w);
}

void xdpio_worker_stop(zf_xdp_worker_t *w)
{
    atomic_store(&w->stop, 1);
}

void xdpio_worker_set_rrl(zf_xdp_worker_t *w, rrl_t *rrl)
{
    w->rrl = rrl;
}

void xdpio_worker_set_counters(zf_xdp_worker_t *w, zf_stats_t *st, uint16_t port)
{
    w->counters = st;
    if (st)
        st->port = port;
}

void xdpio_worker_set_defer(zf_xdp_worker_t *w, zf_defer_q_t *q)
{
    w->defer = q;
}

int xdpio_worker_reply_fd(zf_xdp_worker_t *w, int family, const uint8_t *addr, uint16_t port,
                          int fd)
{
    if (w->nreply >= ZF_XDP_MAX_REPLY_FDS || (family != 4 && family != 6))
        return -1;
    unsigned i = w->nreply++;
    memset(&w->reply[i], 0, sizeof(w->reply[i]));
    w->reply[i].family = (uint8_t)family;
    w->reply[i].any = addr == NULL;
    w->reply[i].port = port;
    if (addr)
        memcpy(w->reply[i].addr, addr, family == 4 ? 4 : 16);
    w->reply[i].fd = fd;
    return 0;
}

/* The kernel socket bound to the frame's destination (its own address
 * first, then a wildcard of the same family and port), or -1. */
static int reply_fd_for(const zf_xdp_worker_t *w, const xdp_pkt_t *k)
{
    const uint8_t *ip = k->data + ETH_HLEN_;
    const uint8_t *dst = k->family == 4 ? ip + 16 : ip + 24;
    size_t alen = k->family == 4 ? 4 : 16;
    uint16_t port = ld16(k->data + k->l4off + 2);
    int any = -1;
    for (unsigned i = 0; i < w->nreply; i++) {
        if (w->reply[i].family != k->family || w->reply[i].port != port)
            continue;
        if (w->reply[i].any)
            any = any < 0 ? w->reply[i].fd : any;
        else if (memcmp(w->reply[i].addr, dst, alen) == 0)
            return w->reply[i].fd;
    }
    return any;
}

/* A query the engine deferred: queued for the forwarder, which answers from
 * the kernel socket (0, the frame is free to go), or a SERVFAIL written over
 * the frame's payload when there is no such socket or the queue is full
 * (its length, or 0 when nothing can be echoed). */
static size_t defer_frame(zf_xdp_worker_t *w, const xdp_pkt_t *k, const struct sockaddr *src,
                          size_t cap)
{
    int fd = reply_fd_for(w, k);
    socklen_t srclen = k->family == 4 ? sizeof(struct sockaddr_in) : sizeof(struct sockaddr_in6);
    if (fd >= 0 && zf_defer_push(w->defer, w->scratch, k->qlen, src, srclen, fd, NULL, 0, 0) == 0)
        return 0;
    return zf_defer_servfail(w->scratch, k->qlen, k->payload, cap);
}

int xdpio_worker_zerocopy(const zf_xdp_worker_t *w)
{
    return w->zerocopy;
}

void xdpio_worker_stats(const zf_xdp_worker_t *w, zf_xdp_stats_t *out)
{
    out->queries = __atomic_load_n(&w->stats.queries, __ATOMIC_RELAXED);
    out->responses = __atomic_load_n(&w->stats.responses, __ATOMIC_RELAXED);
    out->dropped = __atomic_load_n(&w->stats.dropped, __ATOMIC_RELAXED);
    out->batches = __atomic_load_n(&w->stats.batches, __ATOMIC_RELAXED);
    out->errors = __atomic_load_n(&w->stats.errors, __ATOMIC_RELAXED);
    out->rrl_dropped = __atomic_load_n(&w->stats.rrl_dropped, __ATOMIC_RELAXED);
    out->rrl_slipped = __atomic_load_n(&w->stats.rrl_slipped, __ATOMIC_RELAXED);
    out->invalid = __atomic_load_n(&w->stats.invalid, __ATOMIC_RELAXED);
}

static inline uint32_t next_seed(zf_xdp_worker_t *w)
{
    uint64_t x = w->rng;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    w->rng = x;
    return (uint32_t)((x * 0x2545F4914F6CDD1Dull) >> 32);
}

static inline int should_stop(zf_xdp_worker_t *w)
{
    return atomic_load_explicit(&w->stop, memory_order_relaxed) || zf_slot_stopped(w->slot);
}

static inline void free_frame(zf_xdp_worker_t *w, uint64_t addr)
{
    ZF_ASSERT(w->nfree < XDP_FRAMES);
    w->free_frames[w->nfree++] = addr & ~(uint64_t)(XDP_FRAME_SIZE - 1);
}

/* Sent frames come back to the free stack. */
static void collect_completions(zf_xdp_worker_t *w)
{
    uint32_t idx;
    unsigned n = xsk_ring_cons__peek(&w->comp, XDP_RING, &idx);
    for (unsigned i = 0; i < n; i++)
        free_frame(w, *xsk_ring_cons__comp_addr(&w->comp, idx + i));
    if (n)
        xsk_ring_cons__release(&w->comp, n);
}

/* Gives the kernel every free frame the fill ring has room for. */
static void refill(zf_xdp_worker_t *w)
{
    uint32_t idx;
    unsigned n = xsk_prod_nb_free(&w->fill, w->nfree);
    if (n > w->nfree)
        n = w->nfree;
    if (n == 0 || xsk_ring_prod__reserve(&w->fill, n, &idx) != n)
        return;
    for (unsigned i = 0; i < n; i++)
        *xsk_ring_prod__fill_addr(&w->fill, idx + i) = w->free_frames[--w->nfree];
    xsk_ring_prod__submit(&w->fill, n);
}

/* Copy-mode transmit happens inside sendto, at most 32 frames a call; it
 * answers EAGAIN while more are queued and EBUSY/ENOBUFS when the device
 * is momentarily full. */
static void kick_tx(zf_xdp_worker_t *w)
{
    if (!xsk_ring_prod__needs_wakeup(&w->tx))
        return;
    for (int i = 0; i < XDP_KICKS; i++) {
        if (sendto(w->fd, NULL, 0, MSG_DONTWAIT, NULL, 0) >= 0)
            return;
        if (errno == EAGAIN || errno == EBUSY || errno == ENOBUFS || errno == EINTR) {
            collect_completions(w);
            continue;
        }
        if (errno != ENETDOWN && errno != ENXIO)
            STAT_ADD(w->stats.errors, 1);
        return;
    }
}

/* Answers the n parsed frames pkts[0, n) from one image, in place; fills
 * tx_addr/tx_len [0, m) and returns m.  Inlined twice, with rrl NULL or not,
 * like udpio.c's answer_batch_with. */
static inline __attribute__((always_inline)) unsigned answer_frames_with(zf_xdp_worker_t *w,
                                                                        unsigned n, rrl_t *rrl,
                                                                        unsigned *rrl_drop,
                                                                        unsigned *rrl_slip)
{
    zf_slot_t *slot = w->slot;
    zf_answer_fn answer = slot->answer;
    xdp_pkt_t *pkts = w->pkts;
    const void *image = zf_slot_enter(slot, w->reader);
    zf_stats_t *counters = w->counters;
    zf_qctx_t ctx;
    uint8_t deferred = 0;
    ctx.seed = next_seed(w);
    ctx.tcp = 0;
    ctx.stats = counters;
    ctx.hint = NULL;
    ctx.defer = w->defer ? &deferred : NULL;
    if (counters) {
        zf_stats_batch(counters, n);
        zf_stats_tick(counters);
    }
    if (rrl)
        rrl_tick(rrl);
    zf_prefetch_fn prefetch = slot->prefetch;
    int hinted = prefetch && n > 1; /* hints[i] is then this batch's, for the answer too */
    if (hinted) {
        for (int stage = 0; stage < ZF_PREFETCH_STAGES; stage++)
            for (unsigned i = 0; i < n; i++)
                if (pkts[i].family)
                    prefetch(image, pkts[i].payload, pkts[i].qlen, &w->hints[i], stage);
    }
    unsigned m = 0;
    for (unsigned i = 0; i < n; i++) {
        xdp_pkt_t *k = &pkts[i];
        if (!k->family) {
            free_frame(w, k->addr);
            continue;
        }
        /* The reply is written where the query was; the engine reads the
         * query from scratch meanwhile (a few dozen octets copied). */
        size_t hdr = (size_t)k->l4off + UDP_HLEN;
        size_t cap = k->room - hdr;
        size_t mtu_cap = w->mtu - (k->l4off - ETH_HLEN_) - UDP_HLEN;
        if (cap > mtu_cap)
            cap = mtu_cap; /* the kernel would fragment; we cannot: TC instead */
        if (cap > ZF_UDP_TX_SIZE)
            cap = ZF_UDP_TX_SIZE;
        memcpy(w->scratch, k->payload, k->qlen);
        ctx.src = (const struct sockaddr *)&w->srcs[i];
        ctx.hint = hinted ? &w->hints[i] : NULL;
        size_t len = answer(image, w->scratch, k->qlen, k->payload, cap, &ctx);
        if (len == 0 && deferred) {
            deferred = 0;
            len = defer_frame(w, k, ctx.src, cap);
        }
        if (len == 0 || len > cap) {
            free_frame(w, k->addr);
            continue;
        }
        if (counters)
            zf_stats_record(counters, ctx.src, 0, w->scratch, k->qlen, k->payload, len);
        if (rrl) {
            int verdict = rrl_account(rrl, ctx.src, k->payload, &len);
            if (verdict == RRL_DROP) {
                (*rrl_drop)++;
                free_frame(w, k->addr);
                continue;
            }
            *rrl_slip += verdict == RRL_SLIP;
        }
        w->tx_len[m] = write_reply(k, (uint32_t)len);
        w->tx_addr[m] = k->addr;
        m++;
    }
    zf_slot_leave(slot, w->reader);
    return m;
}

static unsigned answer_frames(zf_xdp_worker_t *w, unsigned n, unsigned *d, unsigned *s)
{
    return answer_frames_with(w, n, NULL, d, s);
}

static unsigned answer_frames_rrl(zf_xdp_worker_t *w, unsigned n, unsigned *d, unsigned *s)
{
    return answer_frames_with(w, n, w->rrl, d, s);
}

int xdpio_worker_run(zf_xdp_worker_t *w)
{
    zf_slot_t *slot = w->slot;
    w->reader = zf_slot_register(slot);
    if (w->reader < 0)
        return -ENOSPC;
    int rc = 0;
    while (!should_stop(w)) {
        collect_completions(w);
        refill(w);
        uint32_t idx;
        unsigned n = xsk_ring_cons__peek(&w->rx, w->batch, &idx);
        if (n == 0) {
            /* Idle: sleep in poll (offline for the RCU slot) until frames
             * arrive or 100 ms pass, so stop requests are noticed. */
            struct pollfd pfd = {w->fd, POLLIN, 0};
            int r = poll(&pfd, 1, 100);
            if (r < 0 && errno != EINTR) {
                if (errno == EBADF || errno == EINVAL) {
                    rc = -errno;
                    break;
                }
                STAT_ADD(w->stats.errors, 1);
            }
            continue;
        }
        unsigned invalid = 0;
        for (unsigned i = 0; i < n; i++) {
            const struct xdp_desc *desc = xsk_ring_cons__rx_desc(&w->rx, idx + i);
            xdp_pkt_t *k = &w->pkts[i];
            uint64_t addr = desc->addr;
            uint64_t off = addr & (XDP_FRAME_SIZE - 1);
            k->addr = addr;
            k->room = (uint32_t)(XDP_FRAME_SIZE - off);
            if (!parse_frame((uint8_t *)xsk_umem__get_data(w->area, addr), desc->len, k,
                             &w->srcs[i]))
                invalid++;
        }
        xsk_ring_cons__release(&w->rx, n);

        unsigned rrl_drop = 0, rrl_slip = 0;
        unsigned m = w->rrl ? answer_frames_rrl(w, n, &rrl_drop, &rrl_slip)
                            : answer_frames(w, n, &rrl_drop, &rrl_slip);
        unsigned sent = 0;
        if (m) {
            unsigned room = xsk_prod_nb_free(&w->tx, m);
            if (room < m) {
                collect_completions(w);
                room = xsk_prod_nb_free(&w->tx, m);
            }
            sent = room < m ? room : m;
            if (sent && xsk_ring_prod__reserve(&w->tx, sent, &idx) == sent) {
                for (unsigned k = 0; k < sent; k++) {
                    struct xdp_desc *d = xsk_ring_prod__tx_desc(&w->tx, idx + k);
                    d->addr = w->tx_addr[k];
                    d->len = w->tx_len[k];
                    d->options = 0;
                }
                xsk_ring_prod__submit(&w->tx, sent);
            } else {
                sent = 0;
            }
            for (unsigned k = sent; k < m; k++)
                free_frame(w, w->tx_addr[k]);
            if (sent)
                kick_tx(w);
        }
        unsigned real = n - invalid;
        STAT_ADD(w->stats.invalid, invalid);
        if (real == 0)
            continue;
        STAT_ADD(w->stats.batches, 1);
        STAT_ADD(w->stats.queries, real);
        STAT_ADD(w->stats.responses, sent);
        STAT_ADD(w->stats.dropped, real - sent);
        if (rrl_drop | rrl_slip) {
            STAT_ADD(w->stats.rrl_dropped, rrl_drop);
            STAT_ADD(w->stats.rrl_slipped, rrl_slip);
        }
    }
    zf_slot_unregister(slot, w->reader);
    w->reader = -1;
    return rc;
}
