/* zfdefer.h: the recursive-fallback slow path out of the socket loops.
 *
 * A private zone with public DNS fallback whose NXDOMAIN no public zone here
 * covers is answered by a configured recursive resolver.  The engine does not
 * answer such a query when the loop can defer (zf_qctx_t.defer set): it
 * returns 0 and sets *defer.  The loop then pushes the query, its source and
 * where the reply goes (UDP socket, or TCP connection) onto this bounded
 * queue; a forwarder thread (dataplane/forwarder.py) pops it, asks the
 * resolver and sends the reply from the same socket or connection.  A full
 * queue is answered SERVFAIL by the loop at once and counted.
 *
 * Push takes a mutex for a few stores and a malloc: the loops pay that only
 * for deferred queries, never for the answers the engine writes.
 */
#ifndef ZF_DEFER_H
#define ZF_DEFER_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

typedef struct zf_defer_item {
    struct zf_defer_item *next; /* FIFO link */
    void *tcp;                  /* the zf_tcp_server_t of a TCP query, or NULL for UDP */
    uint32_t conn, gen;         /* TCP: the connection, as tcpio_xfr_done takes it */
    int fd;                     /* UDP: the socket the query came in on */
    socklen_t srclen;
    struct sockaddr_storage src; /* the client */
    size_t qlen;
    uint8_t query[];            /* the query as received */
} zf_defer_item_t;

typedef struct zf_defer_q {
    pthread_mutex_t lock;
    pthread_cond_t ready;       /* signalled on push and on close */
    zf_defer_item_t *head, *tail;
    unsigned len, cap;          /* queued items; cap: the bound */
    int closed;                 /* pop returns NULL at once */
    uint64_t pushed;            /* queries handed to the forwarder */
    uint64_t overflow;          /* queries answered SERVFAIL because the queue was full */
} zf_defer_q_t;

zf_defer_q_t *zf_defer_new(unsigned cap);
void zf_defer_free(zf_defer_q_t *q); /* frees queued items too */
void zf_defer_close(zf_defer_q_t *q);
/* Queues a copy of the query; 0, or -1 when full (overflow counted) or out of memory. */
int zf_defer_push(zf_defer_q_t *q, const uint8_t *query, size_t qlen, const struct sockaddr *src,
                  socklen_t srclen, int fd, void *tcp, uint32_t conn, uint32_t gen);
/* The oldest item (the caller frees it), or NULL after timeout_ms or close. */
zf_defer_item_t *zf_defer_pop(zf_defer_q_t *q, int timeout_ms);
/* A SERVFAIL for query into out (header and question), its length, or 0
 * when the query is too short or malformed to echo. */
size_t zf_defer_servfail(const uint8_t *query, size_t qlen, uint8_t *out, size_t cap);

#endif
