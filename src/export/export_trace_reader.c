/* vitte: vitte_trace_export(), the exporters fed by .vittrace readers.
 *
 * The only file of the exporters that calls vitte_trace_reader_*: the driver
 * and the sinks see a vitte__xsource, so tests run them on synthetic events. */
#include "export/export_trace.h"

#include "common/alloc.h"
#include "format/vittrace_read.h"

typedef struct reader_source {
    const char *path;
    const char *symbol_dirs; /* NULL: none */
    vitte_trace_reader *r;
} reader_source;

static int rs_open(void *ctx, vitte_diag *diag)
{
    reader_source *s = ctx;
    if (s->r != NULL) {
        vitte_trace_reader_close(s->r);
        s->r = NULL;
    }
    int rc = vitte_trace_reader_open(s->path, 0, &s->r, diag);
    if (rc == VITTE_OK && s->symbol_dirs != NULL)
        rc = vitte_trace_reader_set_symbol_dirs(s->r, s->symbol_dirs);
    return rc;
}

static int rs_next(void *ctx, const vitte_trace_event **ev, vitte_diag *diag)
{
    reader_source *s = ctx;
    return vitte_trace_reader_next(s->r, ev, diag);
}

static int rs_info(void *ctx, vitte_trace_file_info *out)
{
    reader_source *s = ctx;
    return vitte_trace_reader_info(s->r, out);
}

static const vitte_trace_thread *rs_threads(void *ctx, size_t *n)
{
    reader_source *s = ctx;
    return vitte_trace_reader_threads(s->r, n);
}

static void rs_close(void *ctx)
{
    reader_source *s = ctx;
    vitte_trace_reader_close(s->r);
    s->r = NULL;
}

static const char *rs_info_value(void *ctx, const char *key)
{
    reader_source *s = ctx;
    return vitte__trace_reader_info_value(s->r, key);
}

static const vitte__xsource_ops reader_ops = {rs_open, rs_next, rs_info, rs_threads, rs_close};

int vitte_trace_export(const char *const *paths, size_t n_paths,
                       const vitte_trace_export_options *opt, FILE *out, vitte_diag *diag)
{
    if (diag != NULL)
        memset(diag, 0, sizeof *diag);
    if (out == NULL || (paths == NULL && n_paths != 0)) {
        if (diag != NULL) {
            diag->status = VITTE_EINVAL;
            snprintf(diag->message, sizeof diag->message, "no output or no paths");
        }
        return VITTE_EINVAL;
    }
    for (size_t i = 0; i < n_paths; i++) {
        if (paths[i] == NULL) {
            if (diag != NULL) {
                diag->status = VITTE_EINVAL;
                snprintf(diag->message, sizeof diag->message, "path %zu is NULL", i);
            }
            return VITTE_EINVAL;
        }
    }
    reader_source *rs = vitte__calloc(n_paths != 0 ? n_paths : 1, sizeof *rs);
    vitte__xsource *src = vitte__calloc(n_paths != 0 ? n_paths : 1, sizeof *src);
    if (rs == NULL || src == NULL) {
        vitte__free(rs);
        vitte__free(src);
        if (diag != NULL) {
            diag->status = VITTE_ENOMEM;
            snprintf(diag->message, sizeof diag->message, "out of memory");
        }
        return VITTE_ENOMEM;
    }
    for (size_t i = 0; i < n_paths; i++) {
        rs[i].path = paths[i];
        if (opt != NULL && opt->struct_size >= offsetof(vitte_trace_export_options, symbol_dirs) +
                                                   sizeof opt->symbol_dirs)
            rs[i].symbol_dirs = opt->symbol_dirs;
        src[i] = (vitte__xsource){&reader_ops, &rs[i], paths[i]};
    }

    vitte__buf b;
    vitte__buf_init_file(&b, out);
    int rc = vitte__export_trace_run_ex(src, n_paths, rs_info_value, opt, &b, diag);
    int frc = vitte__buf_flush(&b);
    vitte__buf_free(&b);
    for (size_t i = 0; i < n_paths; i++)
        if (rs[i].r != NULL)
            vitte_trace_reader_close(rs[i].r);
    vitte__free(rs);
    vitte__free(src);
    if (frc != 0) {
        /* An output that could not be written is the failure that matters. */
        rc = frc;
        if (diag != NULL) {
            diag->status = frc;
            diag->offset = 0;
            snprintf(diag->message, sizeof diag->message, "writing the export: %s",
                     vitte_strerror(frc));
        }
    }
    return rc;
}
