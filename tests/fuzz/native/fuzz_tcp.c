/* fuzz_tcp.c: libFuzzer over the TCP framing of csrc/tcpio.c (RFC 7766).
 *
 * Each input is the byte stream one client sends on a connection.  It is
 * fed to the loop's own process() (tcpio.c is included here for its static
 * functions) in reads of varying sizes, as serve() would after epoll said
 * the socket is readable: partial length prefixes, pipelined messages,
 * messages split across reads, zone-transfer requests that pause the
 * connection, and output that backs up past max_pending.  The engine is a
 * stand-in that echoes the query with QR set, sometimes as a big reply.
 */
#include "../../../csrc/tcpio.c"

static size_t echo_answer(const void *image, const uint8_t *q, size_t qlen, uint8_t *resp,
                          size_t cap, const zf_qctx_t *ctx)
{
    (void)image;
    if (!ctx || !ctx->tcp || cap != ZF_TCP_MAX_MSG)
        abort(); /* the loop must say TCP and offer the whole 64 KiB */
    if (qlen < 12)
        return 0; /* the engine drops what has no header */
    size_t n = (q[3] & 1) ? 8192 : qlen; /* an odd RCODE octet asks for a big reply */
    if (qlen > n)
        n = qlen;
    memset(resp, 0, n);
    memcpy(resp, q, qlen < n ? qlen : n);
    resp[2] |= 0x80;
    return n;
}

static int xfr_calls;

static void xfr_stub(void *ctx, uint32_t conn, uint32_t gen, const uint8_t *query, size_t qlen,
                     const char *host, uint16_t port)
{
    (void)ctx;
    (void)conn;
    (void)gen;
    (void)host;
    (void)port;
    if (!tcpio_is_xfr(query, qlen))
        abort();
    xfr_calls++;
}

static zf_tcp_server_t *server; /* one for the run: setting one up is a few syscalls */
static zf_slot_t slot;           /* only .answer is read by process() */

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    int no_fds[1] = {-1};
    /* max_pending below two big replies, so output backs up and pauses */
    zf_tcp_opts_t opts = {.idle_timeout_ms = 1000, .max_connections = 1, .max_pending = 12000};
    slot.answer = echo_answer;
    server = tcpio_server_new(no_fds, 0, &slot, &opts);
    if (!server)
        abort();
    tcpio_server_set_xfr(server, xfr_stub, NULL);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    zf_tcp_server_t *s = server;
    conn_t *c = &s->conns[0];
    memset(c, 0, sizeof(*c)); /* a fresh connection, as accept_all() makes one */
    c->fd = -1;
    struct sockaddr_in *peer = (struct sockaddr_in *)&c->peer;
    peer->sin_family = AF_INET;
    peer->sin_port = htons(5353);
    peer->sin_addr.s_addr = htonl(0x7F000001);
    /* the first octet shapes the reads; the rest is the stream */
    uint32_t rng = size ? (uint32_t)data[0] * 2654435761u + 1 : 1;
    size_t pos = size ? 1 : 0;
    int rounds = 0;
    while (pos < size && rounds++ < 10000) {
        if (!c->in) {
            c->in = malloc(IN_INITIAL);
            if (!c->in)
                abort();
            c->in_cap = IN_INITIAL;
        }
        rng ^= rng << 13;
        rng ^= rng >> 17;
        rng ^= rng << 5;
        size_t want = 1 + rng % 700;
        size_t room = c->in_cap - c->in_len;
        size_t n = want < room ? want : room;
        if (n > size - pos)
            n = size - pos;
        memcpy(c->in + c->in_len, data + pos, n);
        c->in_len += n;
        pos += n;
        if (process(s, c) != 0)
            goto done;
        /* the client reads every reply and a transfer's reply comes back:
         * what was held back is answered before the next read */
        for (int k = 0; k < 256; k++) {
            if (c->in_len > c->in_cap || c->out_off > c->out_len || c->in_cap > IN_MAX)
                abort();
            c->out_off = c->out_len;
            if (!c->paused && !c->xfr_wait)
                break;
            c->paused = c->xfr_wait = 0;
            if (process(s, c) != 0)
                goto done;
        }
        if (c->in_len == c->in_cap && !c->paused && !c->xfr_wait)
            abort(); /* stalled: process() must make room for the pending message */
    }
done:
    free(c->in);
    free(c->out);
    c->in = c->out = NULL;
    return 0;
}
