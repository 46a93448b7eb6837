/* xdpkey.h: the listen-map key shared by the XDP program and xdpio.c. */
#ifndef ZF_XDPKEY_H
#define ZF_XDPKEY_H

#include <linux/types.h>

#define ZF_XDP_MAX_QUEUES 256 /* entries of the XSKMAP: rx queue index -> socket */
#define ZF_XDP_MAX_LISTEN 64  /* listened (family, address, port) triples */

struct zf_xdp_key {
    __u16 port;     /* UDP destination port, network order */
    __u8 family;    /* 4 or 6 */
    __u8 pad;       /* zero */
    __u8 addr[16];  /* destination address (IPv4 in the first 4), zero = any */
};

#endif
