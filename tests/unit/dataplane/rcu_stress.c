/* rcu_stress.c: swaps and frees images while UDP and TCP loops answer from
 * them; built with -fsanitize=thread or =address by test_sanitizers.py.  An
 * answer from a freed or half-swapped image fails the magic check or trips
 * the sanitizer. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tcpio.h"
#include "udpio.h"

#define MAGIC 0x5a5a5a5a

typedef struct image {
    _Atomic uint32_t magic; /* MAGIC while live, 0 once retired */
    uint32_t tag;
} image_t;

static _Atomic int bad;

static size_t answer(const void *image, const uint8_t *q, size_t qlen, uint8_t *r, size_t cap,
                     const zf_qctx_t *ctx)
{
    const image_t *img = image;
    (void)ctx;
    if (qlen < 12 || qlen + 4 > cap)
        return 0;
    if (atomic_load(&img->magic) != MAGIC)
        atomic_fetch_add(&bad, 1);
    sched_yield(); /* widen the window in which a premature free would show */
    memcpy(r, q, qlen);
    r[2] |= 0x80;
    memcpy(r + qlen, &img->tag, 4);
    if (atomic_load(&img->magic) != MAGIC) /* still live at the end of the answer */
        atomic_fetch_add(&bad, 1);
    return qlen + 4;
}

static void *run_udp(void *w) { return (void *)(intptr_t)udpio_worker_run(w); }
static void *run_tcp(void *s) { return (void *)(intptr_t)tcpio_server_run(s); }

static _Atomic int done;
static int port;
static _Atomic long udp_replies, tcp_replies;

static void *udp_client(void *arg)
{
    (void)arg;
    int fd = socket(AF_INET, SOCK_DGRAM, 0);
    struct timeval tv = {0, 200000};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    struct sockaddr_in to = {.sin_family = AF_INET, .sin_port = htons(port)};
    to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    uint8_t q[17] = {0, 1, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0, 1, 'a', 0, 0, 1}, r[64];
    while (!atomic_load(&done)) {
        for (int i = 0; i < 16; i++)
            sendto(fd, q, sizeof(q), 0, (struct sockaddr *)&to, sizeof(to));
        for (int i = 0; i < 16; i++)
            if (recv(fd, r, sizeof(r), 0) == sizeof(q) + 4)
                atomic_fetch_add(&udp_replies, 1);
    }
    close(fd);
    return NULL;
}

static void *tcp_client(void *arg)
{
    (void)arg;
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in to = {.sin_family = AF_INET, .sin_port = htons(port)};
    to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(fd, (struct sockaddr *)&to, sizeof(to)) != 0) {
        perror("connect");
        atomic_fetch_add(&bad, 1);
        return NULL;
    }
    uint8_t q[19] = {0, 17, 0, 1, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0, 1, 'a', 0, 0, 1};
    uint8_t burst[19 * 8], r[2 + 21];
    for (int i = 0; i < 8; i++)
        memcpy(burst + 19 * i, q, 19);
    while (!atomic_load(&done)) {
        if (write(fd, burst, sizeof(burst)) != sizeof(burst))
            break;
        for (int i = 0; i < 8; i++) {
            size_t got = 0;
            while (got < sizeof(r)) {
                ssize_t n = read(fd, r + got, sizeof(r) - got);
                if (n <= 0)
                    goto out;
                got += (size_t)n;
            }
            atomic_fetch_add(&tcp_replies, 1);
        }
    }
out:
    close(fd);
    return NULL;
}

int main(int argc, char **argv)
{
    int swaps = argc > 1 ? atoi(argv[1]) : 2000;
    image_t *img = calloc(1, sizeof(*img));
    atomic_store(&img->magic, MAGIC);
    zf_slot_t *slot = zf_slot_new(answer, img);
    int fds[2];
    fds[0] = udpio_open("127.0.0.1", 0, 0, 50);
    port = zf_socket_port(fds[0]);
    fds[1] = udpio_open("127.0.0.1", (uint16_t)port, 0, 50);
    int lfd = tcpio_listen("127.0.0.1", (uint16_t)port, 64);
    if (fds[0] < 0 || fds[1] < 0 || lfd < 0) {
        fprintf(stderr, "socket setup failed\n");
        return 2;
    }
    zf_udp_worker_t *w[2] = {udpio_worker_new(fds[0], slot, 32, 0),
                             udpio_worker_new(fds[1], slot, 32, ZF_UDP_NO_MMSG)};
    zf_tcp_server_t *ts = tcpio_server_new(&lfd, 1, slot, NULL);
    pthread_t tw[2], tt, cu, ct;
    pthread_create(&tw[0], NULL, run_udp, w[0]);
    pthread_create(&tw[1], NULL, run_udp, w[1]);
    pthread_create(&tt, NULL, run_tcp, ts);
    pthread_create(&cu, NULL, udp_client, NULL);
    pthread_create(&ct, NULL, tcp_client, NULL);

    int timeouts = 0;
    for (int i = 1; i <= swaps; i++) {
        image_t *next = calloc(1, sizeof(*next));
        next->tag = (uint32_t)i;
        atomic_store(&next->magic, MAGIC);
        if (zf_slot_swap(slot, next, 2000) != 0) {
            timeouts++;
            continue; /* leak the old one: it may still be read */
        }
        atomic_store(&img->magic, 0);
        free(img);
        img = next;
        if (i % 64 == 0)
            usleep(1000);
    }
    atomic_store(&done, 1);
    usleep(300000);
    zf_slot_stop(slot);
    tcpio_server_stop(ts);
    for (int i = 0; i < 2; i++) {
        udpio_wake(fds[i]);
        pthread_join(tw[i], NULL);
    }
    pthread_join(tt, NULL);
    pthread_join(cu, NULL);
    pthread_join(ct, NULL);
    printf("swaps=%d timeouts=%d udp=%ld tcp=%ld bad=%d\n", swaps, timeouts,
           atomic_load(&udp_replies), atomic_load(&tcp_replies), atomic_load(&bad));
    for (int i = 0; i < 2; i++) {
        udpio_worker_free(w[i]);
        close(fds[i]);
    }
    tcpio_server_free(ts);
    close(lfd);
    zf_slot_free(slot);
    free(img);
    return atomic_load(&bad) || timeouts || !udp_replies || !tcp_replies ? 1 : 0;
}
