/* bench_trace_off.c: the span loop with tracing compiled out.  CMake builds
 * this file with -DVITTE_TRACE_ENABLED=0, so VITTE_TRACE_SCOPE expands to a
 * typedef: the loop must be the machine code of the empty loop beside it
 * (`objdump -d --disassemble=bt_loop_off_span bench_trace` shows it). */
#include "bench_trace_loops.h"

#include <vitte/trace.h>

#if VITTE_TRACE_ENABLED
#error "bench_trace_off.c must be compiled with -DVITTE_TRACE_ENABLED=0"
#endif

BT_NOINLINE void bt_loop_off_span(uint64_t n)
{
    for (uint64_t i = 0; i < n; i++) {
        VITTE_TRACE_SCOPE("s");
        BT_LOOP_BARRIER(i);
    }
}

BT_NOINLINE void bt_loop_off_empty(uint64_t n)
{
    for (uint64_t i = 0; i < n; i++)
        BT_LOOP_BARRIER(i);
}
