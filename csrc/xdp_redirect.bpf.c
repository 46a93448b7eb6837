/* xdp_redirect.bpf.c: the XDP program in front of the AF_XDP loop (xdpio.c).
 *
 * Redirects plain UDP to a listened (address, port) into the AF_XDP socket of
 * the receiving queue; everything else (ARP, TCP, ICMP, VLAN-tagged frames,
 * IPv4 with options or fragments, IPv6 with extension headers, other ports)
 * passes to the kernel untouched, so TCP, zone transfers, the API and tools
 * keep working on the same addresses; so do multicast and broadcast
 * destinations.  A queue with no socket in zf_xsks
 * also passes (bpf_redirect_map's XDP_PASS fallback).
 *
 * Built by setup.py with `clang -O2 -target bpf` into the package; loaded
 * and attached through a bpf_link by xdpio.c, so the kernel detaches it when
 * the owning process exits, even by SIGKILL.
 */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/udp.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

#include "xdpkey.h"

struct {
    __uint(type, BPF_MAP_TYPE_XSKMAP);
    __uint(max_entries, ZF_XDP_MAX_QUEUES);
    __type(key, __u32);   /* rx queue index */
    __type(value, __u32); /* AF_XDP socket fd (as written from user space) */
} zf_xsks SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_HASH);
    __uint(max_entries, ZF_XDP_MAX_LISTEN);
    __type(key, struct zf_xdp_key); /* exact address, or all-zero for a wildcard */
    __type(value, __u8);
} zf_listen SEC(".maps");

SEC("xdp")
int zf_xdp_redirect(struct xdp_md *ctx)
{
    void *data = (void *)(long)ctx->data;
    void *end = (void *)(long)ctx->data_end;
    struct ethhdr *eth = data;
    struct udphdr *udp;
    struct zf_xdp_key key;

    __builtin_memset(&key, 0, sizeof(key));
    if ((void *)(eth + 1) > end)
        return XDP_PASS;
    if (eth->h_proto == bpf_htons(ETH_P_IP)) {
        struct iphdr *ip = (void *)(eth + 1);
        if ((void *)(ip + 1) > end)
            return XDP_PASS;
        /* options and fragments stay with the kernel's reassembly and checks */
        if (ip->ihl != 5 || ip->version != 4 || (ip->frag_off & bpf_htons(0x3FFF)) ||
            ip->protocol != IPPROTO_UDP)
            return XDP_PASS;
        /* multicast and broadcast: the kernel answers from a unicast address */
        if ((ip->daddr & bpf_htonl(0xF0000000)) == bpf_htonl(0xE0000000) ||
            ip->daddr == 0xFFFFFFFF)
            return XDP_PASS;
        udp = (void *)(ip + 1);
        key.family = 4;
        __builtin_memcpy(key.addr, &ip->daddr, 4);
    } else if (eth->h_proto == bpf_htons(ETH_P_IPV6)) {
        struct ipv6hdr *ip6 = (void *)(eth + 1);
        if ((void *)(ip6 + 1) > end)
            return XDP_PASS;
        if (ip6->nexthdr != IPPROTO_UDP) /* extension headers, fragments */
            return XDP_PASS;
        if (ip6->daddr.s6_addr[0] == 0xFF) /* multicast */
            return XDP_PASS;
        udp = (void *)(ip6 + 1);
        key.family = 6;
        __builtin_memcpy(key.addr, &ip6->daddr, 16);
    } else {
        return XDP_PASS;
    }
    if ((void *)(udp + 1) > end)
        return XDP_PASS;
    key.port = udp->dest;
    if (!bpf_map_lookup_elem(&zf_listen, &key)) {
        __builtin_memset(key.addr, 0, sizeof(key.addr));
        if (!bpf_map_lookup_elem(&zf_listen, &key))
            return XDP_PASS;
    }
    return bpf_redirect_map(&zf_xsks, ctx->rx_queue_index, XDP_PASS);
}

char _license[] SEC("license") = "GPL";
