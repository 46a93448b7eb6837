/* loadgen: a lean UDP DNS load generator for when dnsperf saturates its own core first.
 *
 * Reads the dnsperf query file format ("name type" per line), pre-encodes every
 * query once (with an EDNS(0) OPT unless -E), then keeps a fixed window of
 * queries outstanding (or a fixed rate with -Q) over several connected UDP
 * sockets, sending and receiving in batches with sendmmsg/recvmmsg so the
 * client pays a few syscalls per 64 packets instead of one per packet.
 * Responses are matched by socket + ID and checked against the question they
 * answer.  Prints key=value lines: QPS sent/answered, loss, latency avg/p50/p99.
 *
 * Build: cc -O2 -Wall -o loadgen tools/loadgen.c -lpthread
 * Run:   loadgen -s 127.0.0.1 -p 5300 -d queries.txt -l 10 -c 8 -q 256
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MAX_BATCH 256
#define RX_BUF 4096      /* EDNS answers we ask for are at most 1232; headroom */
#define TX_BUF 512       /* a query: 12 header + 255 name + 4 + 11 OPT fits */
#define HIST_US 100000   /* 1 us buckets up to 100 ms, then one overflow bucket */
#define EDNS_SIZE 1232   /* DNS flag day 2020 default */

/* One pre-encoded query; wire lives in the shared arena. */
typedef struct {
    uint32_t off;        /* offset of the message in arena */
    uint16_t len;        /* message length (header .. OPT) */
    uint16_t qlen;       /* question length (qname + type + class), compared on answer */
} query_t;

/* One outstanding query, indexed by its DNS ID on its socket. */
typedef struct {
    uint64_t sent_ns;    /* CLOCK_MONOTONIC at sendmmsg */
    uint64_t seq;        /* per-socket send sequence; ID = seq & 0xffff */
    uint32_t qidx;       /* which query, to check the echoed question */
    uint8_t used;        /* 1 while awaiting an answer */
} slot_t;

typedef struct {
    int fd;              /* connected UDP socket */
    int window;          /* max outstanding on this socket */
    int outstanding;     /* currently awaiting answers */
    uint64_t seq;        /* next send sequence */
    uint64_t oldest;     /* lowest sequence that may still be outstanding */
    slot_t slots[65536]; /* by ID */
} sock_t;

typedef struct {
    int id;              /* thread number */
    int nsock;           /* sockets owned */
    sock_t *socks;
    uint32_t qpos;       /* next query index */
    double rate;         /* queries/s for this thread, 0 = window only */
    /* results */
    uint64_t sent, answered, lost, late, mismatch, truncated;
    uint64_t lat_sum_ns, lat_max_ns;
    uint64_t rcodes[16];
    uint32_t *hist;      /* HIST_US + 1 buckets */
    double send_seconds;
} thread_t;

/* options */
static const char *opt_server = "127.0.0.1";
static int opt_port = 53;
static const char *opt_file;
static double opt_seconds = 10;
static int opt_sockets = 8;
static int opt_window = 256;
static double opt_rate = 0;
static int opt_threads = 1;
static int opt_batch = 64;
static int opt_timeout_ms = 1000;
static int opt_edns = 1;
static int opt_do = 0;
static int opt_rd = 1;

static uint8_t *arena;
static query_t *queries;
static uint32_t nqueries;
static struct sockaddr_in server_addr;
static uint64_t start_ns, stop_ns;

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static int qtype_from_text(const char *t)
{
    static const struct { const char *name; int code; } map[] = {
        {"A", 1}, {"NS", 2}, {"CNAME", 5}, {"SOA", 6}, {"PTR", 12}, {"HINFO", 13}, {"MX", 15},
        {"TXT", 16}, {"AAAA", 28}, {"SRV", 33}, {"NAPTR", 35}, {"DS", 43}, {"RRSIG", 46},
        {"DNSKEY", 48}, {"SVCB", 64}, {"HTTPS", 65}, {"CAA", 257}, {"ANY", 255},
    };
    for (size_t i = 0; i < sizeof map / sizeof map[0]; i++)
        if (strcasecmp(t, map[i].name) == 0)
            return map[i].code;
    if (strncasecmp(t, "TYPE", 4) == 0 && t[4])
        return atoi(t + 4);
    return -1;
}

/* Encode "name type" into buf; returns message length or -1. */
static int encode_query(const char *name, const char *type, uint8_t *buf, uint16_t *qlen)
{
    int qt = qtype_from_text(type);
    if (qt < 0)
        return -1;
    uint8_t *p = buf;
    memset(p, 0, 12);
    p[2] = opt_rd ? 0x01 : 0x00;           /* RD, as dnsperf sends by default */
    p[5] = 1;                              /* QDCOUNT */
    p[11] = opt_edns ? 1 : 0;              /* ARCOUNT */
    p += 12;
    const char *s = name;
    while (*s && !(s[0] == '.' && s[1] == 0)) {
        const char *dot = strchr(s, '.');
        size_t n = dot ? (size_t)(dot - s) : strlen(s);
        if (n == 0 || n > 63 || (p - buf) + n + 1 > 12 + 255)
            return -1;
        *p++ = (uint8_t)n;
        memcpy(p, s, n);
        p += n;
        s += n;
        if (*s == '.')
            s++;
    }
    *p++ = 0;
    *p++ = (uint8_t)(qt >> 8);
    *p++ = (uint8_t)qt;
    *p++ = 0;
    *p++ = 1;                              /* IN */
    *qlen = (uint16_t)(p - buf - 12);
    if (opt_edns) {
        *p++ = 0;                          /* root owner */
        *p++ = 0; *p++ = 41;               /* OPT */
        *p++ = EDNS_SIZE >> 8; *p++ = EDNS_SIZE & 0xff;
        *p++ = 0; *p++ = 0;                /* extended rcode, version */
        *p++ = opt_do ? 0x80 : 0; *p++ = 0;
        *p++ = 0; *p++ = 0;                /* RDLEN */
    }
    return (int)(p - buf);
}

static void load_queries(const char *path)
{
    FILE *f = fopen(path, "r");
    if (!f) {
        perror(path);
        exit(2);
    }
    size_t cap = 1 << 16, acap = 1 << 22, apos = 0;
    queries = malloc(cap * sizeof *queries);
    arena = malloc(acap);
    char line[1024], name[512], type[64];
    uint8_t buf[TX_BUF];
    unsigned long bad = 0;
    while (fgets(line, sizeof line, f)) {
        if (line[0] == '#' || line[0] == ';' || line[0] == '\n')
            continue;
        if (sscanf(line, "%511s %63s", name, type) != 2) {
            bad++;
            continue;
        }
        uint16_t qlen;
        int n = encode_query(name, type, buf, &qlen);
        if (n < 0) {
            bad++;
            continue;
        }
        if (nqueries == cap)
            queries = realloc(queries, (cap *= 2) * sizeof *queries);
        if (apos + (size_t)n > acap)
            arena = realloc(arena, acap *= 2);
        memcpy(arena + apos, buf, (size_t)n);
        queries[nqueries++] = (query_t){.off = (uint32_t)apos, .len = (uint16_t)n, .qlen = qlen};
        apos += (size_t)n;
    }
    fclose(f);
    if (!nqueries) {
        fprintf(stderr, "no usable queries in %s\n", path);
        exit(2);
    }
    if (bad)
        fprintf(stderr, "skipped %lu unparsable lines\n", bad);
}

static int open_socket(void)
{
    int fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);
    if (fd < 0) {
        perror("socket");
        exit(2);
    }
    int sz = 4 << 20;
    /* FORCE variants bypass rmem_max when root; fall back silently otherwise. */
    if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &sz, sizeof sz) < 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &sz, sizeof sz);
    if (setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &sz, sizeof sz) < 0)
        setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sz, sizeof sz);
    if (connect(fd, (struct sockaddr *)&server_addr, sizeof server_addr) < 0) {
        perror("connect");
        exit(2);
    }
    return fd;
}

static void record_answer(thread_t *t, sock_t *s, const uint8_t *msg, int len, uint64_t now)
{
    if (len < 12) {
        t->mismatch++;
        return;
    }
    uint16_t id = (uint16_t)(msg[0] << 8 | msg[1]);
    slot_t *sl = &s->slots[id];
    if (!sl->used) {
        t->late++;                         /* answered after we gave up, or a duplicate */
        return;
    }
    const query_t *q = &queries[sl->qidx];
    if (len < 12 + q->qlen || memcmp(msg + 12, arena + q->off + 12, q->qlen) != 0 || !(msg[2] & 0x80)) {
        t->mismatch++;                     /* not the answer to this question; keep waiting */
        return;
    }
    uint64_t lat = now - sl->sent_ns;
    uint64_t us = lat / 1000;
    t->hist[us < HIST_US ? us : HIST_US]++;
    t->lat_sum_ns += lat;
    if (lat > t->lat_max_ns)
        t->lat_max_ns = lat;
    t->rcodes[msg[3] & 0x0f]++;
    if (msg[2] & 0x02)
        t->truncated++;
    t->answered++;
    sl->used = 0;
    s->outstanding--;
}

/* Drop outstanding queries older than the timeout (oldest first: IDs are sequential). */
static void expire(thread_t *t, sock_t *s, uint64_t now, int all)
{
    uint64_t tmo = (uint64_t)opt_timeout_ms * 1000000ull;
    while (s->oldest < s->seq) {
        slot_t *sl = &s->slots[s->oldest & 0xffff];
        if (sl->used && sl->seq == s->oldest) {
            if (!all && sl->sent_ns + tmo > now)
                break;
            sl->used = 0;
            s->outstanding--;
            t->lost++;
        }
        s->oldest++;
    }
}

static void *run_thread(void *arg)
{
    thread_t *t = arg;
    struct mmsghdr tx[MAX_BATCH], rx[MAX_BATCH];
    struct iovec txv[MAX_BATCH], rxv[MAX_BATCH];
    uint8_t (*txbuf)[TX_BUF] = malloc(MAX_BATCH * sizeof *txbuf);
    uint8_t (*rxbuf)[RX_BUF] = malloc(MAX_BATCH * sizeof *rxbuf);
    uint32_t txq[MAX_BATCH];
    struct pollfd *pfd = calloc((size_t)t->nsock, sizeof *pfd);
    for (int i = 0; i < t->nsock; i++)
        pfd[i] = (struct pollfd){.fd = t->socks[i].fd, .events = POLLIN};
    memset(rx, 0, sizeof rx);
    for (int i = 0; i < opt_batch; i++) {
        rxv[i] = (struct iovec){.iov_base = rxbuf[i], .iov_len = RX_BUF};
        rx[i].msg_hdr.msg_iov = &rxv[i];
        rx[i].msg_hdr.msg_iovlen = 1;
    }
    uint64_t drain_until = stop_ns + (uint64_t)opt_timeout_ms * 1000000ull;
    uint64_t last_send_ns = start_ns;
    int sending = 1;
    for (;;) {
        uint64_t now = now_ns();
        if (sending && now >= stop_ns) {
            sending = 0;
            last_send_ns = now;
        }
        int progress = 0, outstanding = 0;
        for (int si = 0; si < t->nsock; si++) {
            sock_t *s = &t->socks[si];
            if (sending) {
                int n = s->window - s->outstanding;
                if (t->rate > 0) {
                    double due = t->rate * (double)(now - start_ns) / 1e9 - (double)t->sent;
                    if (due < n)
                        n = due > 0 ? (int)due : 0;
                }
                if (n > opt_batch)
                    n = opt_batch;
                for (int i = 0; i < n; i++) {
                    slot_t *sl = &s->slots[(s->seq + (uint64_t)i) & 0xffff];
                    if (sl->used) {            /* wrapped onto a query still unanswered */
                        n = i;
                        break;
                    }
                    uint32_t qi = t->qpos;
                    if (++t->qpos == nqueries)
                        t->qpos = 0;
                    const query_t *q = &queries[qi];
                    memcpy(txbuf[i], arena + q->off, q->len);
                    uint16_t id = (uint16_t)((s->seq + (uint64_t)i) & 0xffff);
                    txbuf[i][0] = (uint8_t)(id >> 8);
                    txbuf[i][1] = (uint8_t)id;
                    txv[i] = (struct iovec){.iov_base = txbuf[i], .iov_len = q->len};
                    memset(&tx[i], 0, sizeof tx[i]);
                    tx[i].msg_hdr.msg_iov = &txv[i];
                    tx[i].msg_hdr.msg_iovlen = 1;
                    txq[i] = qi;
                }
                if (n > 0) {
                    int k = sendmmsg(s->fd, tx, (unsigned)n, 0);
                    if (k < 0)
                        k = 0;                 /* EAGAIN/ENOBUFS: retry next round */
                    uint64_t ts = now_ns();
                    for (int i = 0; i < k; i++) {
                        slot_t *sl = &s->slots[s->seq & 0xffff];
                        *sl = (slot_t){.sent_ns = ts, .seq = s->seq, .qidx = txq[i], .used = 1};
                        s->seq++;
                    }
                    /* queries built but not sent are re-read next time */
                    t->qpos = (uint32_t)(((uint64_t)t->qpos + nqueries - (uint64_t)(n - k)) % nqueries);
                    s->outstanding += k;
                    t->sent += (uint64_t)k;
                    if (k)
                        progress = 1;
                }
            }
            for (;;) {
                int m = recvmmsg(s->fd, rx, (unsigned)opt_batch, MSG_DONTWAIT, NULL);
                if (m <= 0)
                    break;
                uint64_t ts = now_ns();
                for (int i = 0; i < m; i++)
                    record_answer(t, s, rxbuf[i], (int)rx[i].msg_len, ts);
                progress = 1;
                if (m < opt_batch)
                    break;
            }
            expire(t, s, now, 0);
            outstanding += s->outstanding;
        }
        if (!sending && (outstanding == 0 || now >= drain_until))
            break;
        if (!progress)
            poll(pfd, (nfds_t)t->nsock, 1);
    }
    for (int si = 0; si < t->nsock; si++)
        expire(t, &t->socks[si], 0, 1);
    t->send_seconds = (double)(last_send_ns - start_ns) / 1e9;
    free(pfd);
    free(txbuf);
    free(rxbuf);
    return NULL;
}

static uint64_t hist_pct(const uint64_t *h, uint64_t total, double pct)
{
    uint64_t want = (uint64_t)((double)total * pct / 100.0 + 0.999999), acc = 0;
    for (int i = 0; i <= HIST_US; i++) {
        acc += h[i];
        if (acc >= want && want)
            return (uint64_t)i;
    }
    return HIST_US;
}

static void usage(void)
{
    fprintf(stderr,
            "usage: loadgen -d FILE [-s ADDR] [-p PORT] [-l SECONDS] [-c SOCKETS] [-q WINDOW]\n"
            "               [-Q QPS] [-T THREADS] [-b BATCH] [-t TIMEOUT_MS] [-E] [-D] [-R]\n"
            "  -c sockets (total, spread over threads)   -q queries outstanding (total)\n"
            "  -Q fixed send rate instead of window only  -b sendmmsg/recvmmsg batch (<=256)\n"
            "  -E no EDNS OPT  -D set DO bit  -R clear RD\n");
    exit(2);
}

int main(int argc, char **argv)
{
    int c;
    while ((c = getopt(argc, argv, "s:p:d:l:c:q:Q:T:b:t:EDRh")) != -1) {
        switch (c) {
        case 's': opt_server = optarg; break;
        case 'p': opt_port = atoi(optarg); break;
        case 'd': opt_file = optarg; break;
        case 'l': opt_seconds = atof(optarg); break;
        case 'c': opt_sockets = atoi(optarg); break;
        case 'q': opt_window = atoi(optarg); break;
        case 'Q': opt_rate = atof(optarg); break;
        case 'T': opt_threads = atoi(optarg); break;
        case 'b': opt_batch = atoi(optarg); break;
        case 't': opt_timeout_ms = atoi(optarg); break;
        case 'E': opt_edns = 0; break;
        case 'D': opt_do = 1; break;
        case 'R': opt_rd = 0; break;
        default: usage();
        }
    }
    if (!opt_file || opt_threads < 1 || opt_sockets < 1 || opt_window < 1 || opt_batch < 1 ||
        opt_batch > MAX_BATCH)
        usage();
    if (opt_sockets < opt_threads)
        opt_sockets = opt_threads;
    memset(&server_addr, 0, sizeof server_addr);
    server_addr.sin_family = AF_INET;
    server_addr.sin_port = htons((uint16_t)opt_port);
    if (inet_pton(AF_INET, opt_server, &server_addr.sin_addr) != 1) {
        fprintf(stderr, "bad IPv4 address %s\n", opt_server);
        return 2;
    }
    load_queries(opt_file);

    thread_t *th = calloc((size_t)opt_threads, sizeof *th);
    int per_sock_window = opt_window / opt_sockets;
    if (per_sock_window < 1)
        per_sock_window = 1;
    if (per_sock_window > 32768)
        per_sock_window = 32768;
    for (int i = 0, sock_base = 0; i < opt_threads; i++) {
        thread_t *t = &th[i];
        t->id = i;
        t->nsock = opt_sockets / opt_threads + (i < opt_sockets % opt_threads);
        t->socks = calloc((size_t)t->nsock, sizeof *t->socks);
        for (int k = 0; k < t->nsock; k++) {
            t->socks[k].fd = open_socket();
            t->socks[k].window = per_sock_window;
            /* different starting IDs per socket, like a real resolver's */
            t->socks[k].seq = t->socks[k].oldest = (uint64_t)(sock_base + k) * 7919u;
        }
        sock_base += t->nsock;
        t->qpos = (uint32_t)((uint64_t)nqueries * (uint64_t)i / (uint64_t)opt_threads);
        t->rate = opt_rate / opt_threads;
        t->hist = calloc(HIST_US + 1, sizeof *t->hist);
    }
    start_ns = now_ns();
    stop_ns = start_ns + (uint64_t)(opt_seconds * 1e9);
    pthread_t *tid = calloc((size_t)opt_threads, sizeof *tid);
    for (int i = 0; i < opt_threads; i++)
        pthread_create(&tid[i], NULL, run_thread, &th[i]);
    for (int i = 0; i < opt_threads; i++)
        pthread_join(tid[i], NULL);

    uint64_t sent = 0, answered = 0, lost = 0, late = 0, mismatch = 0, trunc = 0, lat_sum = 0, lat_max = 0;
    uint64_t rcodes[16] = {0};
    uint64_t *hist = calloc(HIST_US + 1, sizeof *hist);
    double secs = 0;
    for (int i = 0; i < opt_threads; i++) {
        thread_t *t = &th[i];
        sent += t->sent; answered += t->answered; lost += t->lost; late += t->late;
        mismatch += t->mismatch; trunc += t->truncated; lat_sum += t->lat_sum_ns;
        if (t->lat_max_ns > lat_max)
            lat_max = t->lat_max_ns;
        for (int r = 0; r < 16; r++)
            rcodes[r] += t->rcodes[r];
        for (int b = 0; b <= HIST_US; b++)
            hist[b] += t->hist[b];
        if (t->send_seconds > secs)
            secs = t->send_seconds;
    }
    static const char *rname[16] = {"NOERROR", "FORMERR", "SERVFAIL", "NXDOMAIN", "NOTIMP", "REFUSED",
                                    "YXDOMAIN", "YXRRSET", "NXRRSET", "NOTAUTH", "NOTZONE"};
    printf("queries_file=%s\nqueries_loaded=%u\nthreads=%d\nsockets=%d\nwindow=%d\n", opt_file, nqueries,
           opt_threads, opt_sockets, per_sock_window * opt_sockets);
    printf("seconds=%.3f\nsent=%llu\nanswered=%llu\nlost=%llu\nlate=%llu\nmismatch=%llu\ntruncated=%llu\n", secs,
           (unsigned long long)sent, (unsigned long long)answered, (unsigned long long)lost,
           (unsigned long long)late, (unsigned long long)mismatch, (unsigned long long)trunc);
    printf("qps_sent=%.1f\nqps_answered=%.1f\n", secs > 0 ? (double)sent / secs : 0,
           secs > 0 ? (double)answered / secs : 0);
    printf("avg_us=%.1f\np50_us=%llu\np99_us=%llu\np999_us=%llu\nmax_us=%.1f\n",
           answered ? (double)lat_sum / (double)answered / 1000.0 : 0,
           (unsigned long long)hist_pct(hist, answered, 50), (unsigned long long)hist_pct(hist, answered, 99),
           (unsigned long long)hist_pct(hist, answered, 99.9), (double)lat_max / 1000.0);
    printf("rcodes=");
    for (int r = 0, first = 1; r < 16; r++) {
        if (!rcodes[r])
            continue;
        if (rname[r])
            printf("%s%s:%llu", first ? "" : ",", rname[r], (unsigned long long)rcodes[r]);
        else
            printf("%sRCODE%d:%llu", first ? "" : ",", r, (unsigned long long)rcodes[r]);
        first = 0;
    }
    printf("\n");
    return 0;
}
