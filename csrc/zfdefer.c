/* zfdefer.c: the bounded queue between the socket loops and the recursive
 * fallback forwarder (zfdefer.h). */
#include "zfdefer.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

zf_defer_q_t *zf_defer_new(unsigned cap)
{
    zf_defer_q_t *q = calloc(1, sizeof(*q));
    if (!q)
        return NULL;
    pthread_mutex_init(&q->lock, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&q->ready, &ca);
    pthread_condattr_destroy(&ca);
    q->cap = cap ? cap : 1;
    return q;
}

void zf_defer_free(zf_defer_q_t *q)
{
    if (!q)
        return;
    zf_defer_item_t *it = q->head;
    while (it) {
        zf_defer_item_t *next = it->next;
        free(it);
        it = next;
    }
    pthread_cond_destroy(&q->ready);
    pthread_mutex_destroy(&q->lock);
    free(q);
}

void zf_defer_close(zf_defer_q_t *q)
{
    pthread_mutex_lock(&q->lock);
    q->closed = 1;
    pthread_cond_broadcast(&q->ready);
    pthread_mutex_unlock(&q->lock);
}

int zf_defer_push(zf_defer_q_t *q, const uint8_t *query, size_t qlen, const struct sockaddr *src,
                  socklen_t srclen, int fd, void *tcp, uint32_t conn, uint32_t gen)
{
    zf_defer_item_t *it = NULL;
    if (srclen > sizeof(it->src))
        return -1;
    pthread_mutex_lock(&q->lock);
    if (q->len >= q->cap || q->closed) {
        q->overflow++;
        pthread_mutex_unlock(&q->lock);
        return -1;
    }
    q->len++; /* reserve the place before the malloc, outside the lock */
    pthread_mutex_unlock(&q->lock);
    it = malloc(sizeof(*it) + qlen);
    if (it) {
        it->next = NULL;
        it->tcp = tcp;
        it->conn = conn;
        it->gen = gen;
        it->fd = fd;
        it->srclen = srclen;
        memset(&it->src, 0, sizeof(it->src));
        memcpy(&it->src, src, srclen);
        it->qlen = qlen;
        memcpy(it->query, query, qlen);
    }
    pthread_mutex_lock(&q->lock);
    if (!it) {
        q->len--;
        q->overflow++;
    } else {
        if (q->tail)
            q->tail->next = it;
        else
            q->head = it;
        q->tail = it;
        q->pushed++;
        pthread_cond_signal(&q->ready);
    }
    pthread_mutex_unlock(&q->lock);
    return it ? 0 : -1;
}

zf_defer_item_t *zf_defer_pop(zf_defer_q_t *q, int timeout_ms)
{
    struct timespec until;
    clock_gettime(CLOCK_MONOTONIC, &until);
    until.tv_sec += timeout_ms / 1000;
    until.tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
    if (until.tv_nsec >= 1000000000L) {
        until.tv_sec++;
        until.tv_nsec -= 1000000000L;
    }
    pthread_mutex_lock(&q->lock);
    while (!q->head && !q->closed) {
        if (pthread_cond_timedwait(&q->ready, &q->lock, &until) == ETIMEDOUT)
            break;
    }
    zf_defer_item_t *it = q->head;
    if (it) {
        q->head = it->next;
        if (!q->head)
            q->tail = NULL;
        q->len--;
    }
    pthread_mutex_unlock(&q->lock);
    return it;
}

size_t zf_defer_servfail(const uint8_t *q, size_t qlen, uint8_t *out, size_t cap)
{
    size_t off = 12;
    if (qlen < 12 || (q[4] << 8 | q[5]) != 1)
        return 0;
    while (off < qlen && q[off] != 0) {
        if (q[off] & 0xC0) /* a query's qname is never compressed */
            return 0;
        off += 1 + (size_t)q[off];
    }
    off += 1 + 4; /* root label, qtype, qclass */
    if (off > qlen || off > cap)
        return 0;
    memcpy(out, q, off);
    out[2] = 0x80 | (q[2] & 0x79); /* QR; keep opcode and RD */
    out[3] = 0x80 | 2;             /* RA, SERVFAIL */
    memset(out + 6, 0, 6);
    return off;
}
