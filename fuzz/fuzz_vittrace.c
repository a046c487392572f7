/* libFuzzer target: the .vittrace reader on arbitrary bytes.
 *
 * Each input is read twice from memory: as a real file would be, and with
 * checksums ignored, since a fuzzer cannot forge CRC-32s and the record
 * parsers behind them would otherwise never see a mutated payload.  Every
 * field of every event is touched so ASan sees any bad pointer, and the
 * reader must make progress: each VITTE_EFORMAT moves past at least one
 * byte, so more errors than bytes is a hang in the making. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <vitte/trace.h>

#include "format/vittrace_read.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static volatile size_t sink;

static size_t touch_str(const char *s)
{
    if (s == NULL)
        abort(); /* the API promises strings, never NULL */
    return strlen(s);
}

static void read_all(const uint8_t *data, size_t size, unsigned flags)
{
    vitte_trace_reader *r;
    vitte_diag d;
    int rc = vitte__trace_reader_open_mem(data, size, flags, &r, &d);
    if (rc != VITTE_OK) {
        if (r != NULL || d.status != rc || memchr(d.message, '\0', sizeof d.message) == NULL)
            abort();
        return;
    }
    size_t acc = 0, errors = 0;
    for (;;) {
        const vitte_trace_event *ev;
        rc = vitte_trace_reader_next(r, &ev, &d);
        if (rc == 1) {
            acc += (size_t)ev->type + ev->tid + ev->depth + ev->ts_ns + ev->dur_ns + ev->id +
                   ev->line + (ev->value != ev->value);
            acc += touch_str(ev->name) + touch_str(ev->module) + touch_str(ev->tags) +
                   touch_str(ev->file);
            for (size_t i = 0; i < ev->n_args; i++) {
                const vitte_trace_arg *a = &ev->args[i];
                acc += touch_str(a->key) + (size_t)a->i + (size_t)a->type;
                if (a->type == VITTE_ARG_STRING)
                    acc += touch_str(a->s);
            }
            for (size_t i = 0; i < ev->n_frames; i++) {
                const vitte_trace_frame *f = &ev->frames[i];
                acc += touch_str(f->function) + touch_str(f->file) + f->line + f->address;
                if (f->mapping != NULL)
                    acc += touch_str(f->mapping->path) + touch_str(f->mapping->build_id) +
                           f->mapping->start;
            }
            continue;
        }
        if (memchr(d.message, '\0', sizeof d.message) == NULL || d.status != rc)
            abort();
        if (rc == VITTE_EFORMAT && ++errors <= size + 1)
            continue;
        if (rc == VITTE_EFORMAT)
            abort(); /* no progress */
        break;
    }
    vitte_trace_file_info info;
    if (vitte_trace_reader_info(r, &info) != VITTE_OK)
        abort();
    acc += touch_str(info.process_name) + touch_str(info.clock) + info.events + info.dropped;
    size_t n;
    const vitte_trace_thread *th = vitte_trace_reader_threads(r, &n);
    for (size_t i = 0; i < n; i++)
        acc += touch_str(th[i].name) + th[i].tid + th[i].events;
    acc += vitte__trace_reader_damaged(r) + vitte__trace_reader_skipped(r);
    vitte_trace_reader_close(r);
    sink += acc;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    read_all(data, size, VITTE__READER_NO_SYMBOLIZE);
    read_all(data, size, VITTE__READER_NO_CRC | VITTE__READER_NO_SYMBOLIZE);
    return 0;
}
