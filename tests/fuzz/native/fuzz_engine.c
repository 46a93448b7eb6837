/* fuzz_engine.c: libFuzzer over the compiled engine, as the socket loops call it.
 *
 * Built with ZF_FUZZ_SNAPSHOT undefined, each input is one DNS message given
 * to engine_answer() (the zf_answer_fn of zfapi.h) with the fuzz world's
 * image; its first octet (part of the DNS ID, which the engine only copies)
 * picks the client address and UDP or TCP, its second the policy seed.  The
 * same query is answered again after engine_prefetch()'s four stages, with
 * their hint, as the UDP loop does, and both answers must be the same octets.
 *
 * With ZF_FUZZ_SNAPSHOT, each input is a snapshot file: embed.py loads it
 * the way a restarting node does, and an image that passes validation must
 * then answer every seed query without a fault.
 *
 * The engine module is a sanitizer-built copy (tests/fuzz/fuzzbuild.py); the
 * interpreter around it is the ordinary one.  Response buffers are heap
 * blocks of exactly the capacity the loops pass, so a write one octet past
 * it is an AddressSanitizer report.
 */
#include <Python.h>

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "zfapi.h"

#define UDP_CAP 4096 /* ZF_UDP_TX_SIZE: the capacity udpio.c gives the engine */
#define TCP_CAP 65535
#define NCLIENTS 8

static zf_answer_fn answer;
static zf_prefetch_fn prefetch;
static const void *world_image;
static size_t udp_max;
static PyObject *clients[NCLIENTS]; /* bytes (a sockaddr) or None; kept alive */
static PyObject *snapshot_one;
static uint8_t *resp_a, *resp_b;

const char *__asan_default_options(void)
{
    /* the interpreter keeps its start-up allocations for life */
    return "detect_leaks=0:allocator_may_return_null=1";
}

static void die(const char *what)
{
    if (PyErr_Occurred())
        PyErr_Print();
    fprintf(stderr, "fuzz_engine: %s\n", what);
    abort();
}

static void *capsule_pointer(PyObject *cap)
{
    void *p = PyCapsule_GetPointer(cap, PyCapsule_GetName(cap));
    if (!p)
        die("engine capsule");
    return p;
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    const char *root = getenv("ZF_FUZZ_ROOT");
    const char *build = getenv("ZF_FUZZ_BUILD");
    if (!root || !build) {
        fprintf(stderr, "fuzz_engine: set ZF_FUZZ_ROOT (the checkout) and ZF_FUZZ_BUILD "
                        "(tests/fuzz/fuzzbuild.py's directory); tests/fuzz/run.py does\n");
        exit(2);
    }
    Py_InitializeEx(0);
    char code[4096];
    snprintf(code, sizeof(code),
             "import sys\nsys.path[:0] = ['%s/tests/fuzz', '%s/tests/fuzz/native']\n"
             "import srcpath\nsrcpath.use_checkout()\n",
             root, root);
    if (PyRun_SimpleString(code) != 0)
        die("sys.path");
    PyObject *embed = PyImport_ImportModule("embed");
    if (!embed)
        die("import embed");
    PyObject *res = PyObject_CallMethod(embed, "setup", "s", build);
    if (!res || !PyTuple_Check(res) || PyTuple_GET_SIZE(res) != 5)
        die("embed.setup");
    answer = (zf_answer_fn)capsule_pointer(PyTuple_GET_ITEM(res, 0));
    prefetch = (zf_prefetch_fn)capsule_pointer(PyTuple_GET_ITEM(res, 1));
    world_image = PyLong_AsVoidPtr(PyTuple_GET_ITEM(res, 2));
    udp_max = PyLong_AsSize_t(PyTuple_GET_ITEM(res, 3));
    PyObject *cl = PyTuple_GET_ITEM(res, 4);
    for (int i = 0; i < NCLIENTS; i++) {
        clients[i] = PyList_GET_ITEM(cl, i);
        Py_INCREF(clients[i]);
    }
    snapshot_one = PyObject_GetAttrString(embed, "snapshot_one");
    if (!snapshot_one || PyErr_Occurred())
        die("embed.snapshot_one");
    Py_DECREF(res);
    resp_a = malloc(TCP_CAP);
    resp_b = malloc(TCP_CAP);
    return 0;
}

/* Answers q twice (plain, then after the prefetch stages) and checks what
 * every response must be. */
static void ask(const void *image, const uint8_t *q, size_t n, int client, int tcp, uint32_t seed)
{
    size_t cap = tcp ? TCP_CAP : UDP_CAP;
    /* the block's last `cap` octets: ASan sees a write past the capacity */
    uint8_t *a = resp_a + (TCP_CAP - cap), *b = resp_b + (TCP_CAP - cap);
    zf_qctx_t ctx = {0};  /* every field the loops set, stats (counters) NULL */
    ctx.src = clients[client] == Py_None ? NULL
                                         : (const struct sockaddr *)PyBytes_AS_STRING(clients[client]);
    ctx.seed = seed;
    ctx.tcp = (uint8_t)tcp;
    size_t got = answer(image, q, n, a, cap, &ctx);
    if (got > cap || (!tcp && got > udp_max)) {
        fprintf(stderr, "response of %zu octets over the cap %zu (udp_max %zu)\n", got, cap, udp_max);
        abort();
    }
    if (got && (got < 12 || n < 2 || a[0] != q[0] || a[1] != q[1] || !(a[2] & 0x80))) {
        fprintf(stderr, "response without the query's ID or QR\n");
        abort();
    }
    zf_hint_t hint;
    memset(&hint, 0xA5, sizeof(hint)); /* the stages must not read what stage 0 did not set */
    for (int stage = 0; stage < ZF_PREFETCH_STAGES; stage++)
        prefetch(image, q, n, &hint, stage);
    ctx.hint = &hint; /* and the answer takes the qname's key and hash from it, as the loops do */
    size_t again = answer(image, q, n, b, cap, &ctx);
    if (again != got || memcmp(a, b, got) != 0) {
        fprintf(stderr, "answer differs after prefetch, with its hint (%zu vs %zu octets)\n", got, again);
        abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
#ifndef ZF_FUZZ_SNAPSHOT
    int ctl = size ? data[0] : 0;
    ask(world_image, data, size, ctl & 7, (ctl >> 3) & 1, size > 1 ? data[1] : 0);
#else
    if (size > (4u << 20))
        return -1; /* snapshots of interest are small; keep runs fast */
    PyObject *arg = PyBytes_FromStringAndSize((const char *)data, (Py_ssize_t)size);
    PyObject *res = PyObject_CallOneArg(snapshot_one, arg);
    Py_DECREF(arg);
    if (!res)
        die("snapshot_one raised something other than ValueError (see above)");
    Py_ssize_t k = PyList_GET_SIZE(res);
    if (k > 0) {
        const void *image = PyLong_AsVoidPtr(PyList_GET_ITEM(res, 0));
        for (Py_ssize_t i = 1; i < k; i++) {
            PyObject *q = PyList_GET_ITEM(res, i);
            const uint8_t *qp = (const uint8_t *)PyBytes_AS_STRING(q);
            size_t qn = (size_t)PyBytes_GET_SIZE(q);
            ask(image, qp, qn, (int)(i % NCLIENTS), (int)(i & 1), (uint32_t)i);
        }
    }
    Py_DECREF(res);
#endif
    return 0;
}
