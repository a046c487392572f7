/* vitte: span stacks as an interactive flame graph (SVG 1.1 with a little
 * inline JavaScript).
 *
 * The layout is static SVG, so the file reads without JavaScript (a viewer
 * that does not run scripts, an <img> tag, a browser with scripts off):
 * every frame is a <g> holding a <title> (name, total time, share, self
 * time), a <rect> whose x and width are percentages of the frames area, and
 * a label already cut to fit.  The script only adds behaviour: hover shows
 * the title in the details line, a click zooms on a frame (its ancestors
 * span the width, faded), a search (the Search button or Ctrl-F) highlights
 * the frames whose name matches a regular expression and shows the share of
 * time they cover, counting nested matches once.
 *
 * Frames carry fg:x and fg:w (offset and width in ns, in inferno's
 * namespace), the raw figures the zoom works from and that tools comparing
 * flame graphs read.  Siblings are in alphabetical order, like
 * flamegraph.pl, so two graphs of similar runs line up.  Frames narrower
 * than 0.1 px are left out: they could not be seen or clicked, and a trace
 * with millions of distinct stacks would make a file no browser opens. */
#include "export/export_trace.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include "common/alloc.h"

#define SVG_WIDTH    1200
#define SVG_PAD      10
#define FRAME_H      16
#define FONT_SIZE    12
#define CHAR_W       7.2 /* monospace at 12 px: 0.6 em */
#define TOP_H        (3 * FONT_SIZE + 12)
#define BOTTOM_H     (2 * FONT_SIZE + 10)
#define MIN_WIDTH_PX 0.1
#define FRAMES_W     (SVG_WIDTH - 2 * SVG_PAD)

typedef struct svg_sink {
    vitte__xsink base;
    vitte__xstacks st;
} svg_sink;

/* The call tree built from the stacks at the end. */
typedef struct tnode {
    uint32_t name;   /* in st.names */
    uint32_t parent; /* UINT32_MAX for the root */
    uint32_t depth;
    uint32_t first; /* first child in the sorted child array */
    uint32_t n_child;
    uint64_t self, total, x;
} tnode;

/* A child with the alphabetical rank of its name, so child lists sort with
 * a comparator that needs no context (qsort has none in C11, and a global
 * would race between exports running in two threads). */
typedef struct tchild {
    uint32_t rank;
    uint32_t node;
} tchild;

typedef struct tree {
    tnode *n;
    size_t len, cap;
    vitte__xmap index; /* parent << 32 | name -> node */
    tchild *children;
    uint32_t *rank; /* name id -> alphabetical rank */
    uint32_t max_depth;
    const vitte__xnames *names;
} tree;

static int64_t tree_child(tree *t, uint32_t parent, uint32_t name)
{
    int created;
    uint64_t *v = vitte__xmap_upsert(&t->index, (uint64_t)parent << 32 | name, &created);
    if (v == NULL)
        return -1;
    if (!created)
        return (int64_t)*v;
    if (t->len == t->cap) {
        size_t cap = t->cap != 0 ? t->cap * 2 : 256;
        tnode *n = vitte__realloc(t->n, cap * sizeof *n);
        if (n == NULL)
            return -1;
        t->n = n;
        t->cap = cap;
    }
    uint32_t depth = parent == UINT32_MAX ? 0 : t->n[parent].depth + 1;
    t->n[t->len] = (tnode){name, parent, depth, 0, 0, 0, 0, 0};
    if (depth > t->max_depth)
        t->max_depth = depth;
    *v = t->len;
    return (int64_t)t->len++;
}

static int64_t label_child(tree *t, vitte__xstacks *st, uint32_t parent, const vitte__buf *label)
{
    int64_t name =
        vitte__xnames_intern(&st->names, label->data != NULL ? label->data : "", label->len);
    if (name < 0)
        return -1;
    return tree_child(t, parent, (uint32_t)name);
}

typedef struct name_ref {
    const char *s;
    uint32_t id;
} name_ref;

static int cmp_name_ref(const void *a, const void *b)
{
    const name_ref *x = a, *y = b;
    int c = strcmp(x->s, y->s);
    return c != 0 ? c : (x->id < y->id ? -1 : x->id > y->id);
}

static int cmp_child(const void *a, const void *b)
{
    const tchild *x = a, *y = b;
    if (x->rank != y->rank)
        return x->rank < y->rank ? -1 : 1;
    return x->node < y->node ? -1 : x->node > y->node;
}

static int build_tree(tree *t, vitte__xstacks *st, const vitte__xsummary *sum)
{
    memset(t, 0, sizeof *t);
    vitte__xmap_init(&t->index);
    int64_t all = vitte__xnames_intern(&st->names, "all", 3);
    if (all < 0 || tree_child(t, UINT32_MAX, (uint32_t)all) != 0)
        return VITTE_ENOMEM;
    vitte__buf label;
    vitte__buf_init(&label);
    for (size_t i = 0; i < st->done.n; i++) {
        uint64_t key = st->done.keys[i], ns = st->done.vals[i];
        if (ns == 0)
            continue;
        int64_t cur = 0;
        if (st->per_thread) {
            uint32_t stream, tid;
            vitte__xstacks_thread_key(st, (uint32_t)(key >> 32), &stream, &tid);
            if (sum->n_files > 1) {
                vitte__buf_clear(&label);
                vitte__export_process_label(&label, sum, stream);
                cur = label_child(t, st, (uint32_t)cur, &label);
            }
            if (cur >= 0) {
                vitte__buf_clear(&label);
                vitte__export_thread_label(&label, sum, stream, tid);
                cur = label_child(t, st, (uint32_t)cur, &label);
            }
        }
        for (uint32_t node = (uint32_t)key; cur >= 0 && node != VITTE__XSTACK_NIL;
             node = st->node_next[node])
            cur = tree_child(t, (uint32_t)cur, st->node_name[node]);
        if (cur < 0 || label.err != 0) {
            vitte__buf_free(&label);
            return VITTE_ENOMEM;
        }
        t->n[cur].self += ns;
    }
    vitte__buf_free(&label);

    /* Children are created after their parent: summing in reverse order of
     * creation completes every subtree before it is added upwards. */
    for (size_t i = 0; i < t->len; i++)
        t->n[i].total = t->n[i].self;
    for (size_t i = t->len; i-- > 1;)
        t->n[t->n[i].parent].total += t->n[i].total;

    /* Child lists, each sorted by name. */
    t->children = vitte__calloc(t->len != 0 ? t->len : 1, sizeof *t->children);
    if (t->children == NULL)
        return VITTE_ENOMEM;
    for (size_t i = 1; i < t->len; i++)
        t->n[t->n[i].parent].n_child++;
    uint32_t off = 0;
    for (size_t i = 0; i < t->len; i++) {
        t->n[i].first = off;
        off += t->n[i].n_child;
        t->n[i].n_child = 0;
    }
    size_t n_names = st->names.n;
    name_ref *refs = vitte__calloc(n_names != 0 ? n_names : 1, sizeof *refs);
    t->rank = vitte__calloc(n_names != 0 ? n_names : 1, sizeof *t->rank);
    if (refs == NULL || t->rank == NULL) {
        vitte__free(refs);
        return VITTE_ENOMEM;
    }
    for (size_t i = 0; i < n_names; i++)
        refs[i] = (name_ref){st->names.str[i], (uint32_t)i};
    qsort(refs, n_names, sizeof *refs, cmp_name_ref);
    for (size_t i = 0; i < n_names; i++)
        t->rank[refs[i].id] = (uint32_t)i;
    vitte__free(refs);
    for (size_t i = 1; i < t->len; i++) {
        tnode *p = &t->n[t->n[i].parent];
        t->children[p->first + p->n_child++] = (tchild){t->rank[t->n[i].name], (uint32_t)i};
    }
    t->names = &st->names;
    return VITTE_OK;
}

static void layout(tree *t)
{
    /* Parents come before their children in creation order, so one pass
     * places every child after its parent was placed. */
    for (size_t i = 0; i < t->len; i++) {
        tnode *p = &t->n[i];
        tchild *c = t->children + p->first;
        if (p->n_child > 1)
            qsort(c, p->n_child, sizeof *c, cmp_child);
        uint64_t x = p->x;
        for (uint32_t k = 0; k < p->n_child; k++) {
            t->n[c[k].node].x = x;
            x += t->n[c[k].node].total;
        }
    }
}

static void tree_free(tree *t)
{
    vitte__free(t->n);
    vitte__free(t->children);
    vitte__free(t->rank);
    vitte__xmap_fini(&t->index);
}

/* ---- writing -------------------------------------------------------------------------------- */

/* XML text or attribute value: markup characters as entities; characters
 * XML 1.0 forbids even as references (controls, U+FFFE, U+FFFF) and invalid
 * UTF-8 replaced, so any name gives a well-formed document.  At most
 * max_chars characters (code points); returns how many were written. */
static size_t put_xml(vitte__buf *b, const char *s, size_t n, size_t max_chars)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t i = 0, chars = 0;
    while (i < n && chars < max_chars) {
        unsigned char c = p[i];
        chars++;
        if (c >= 0x80) {
            size_t len = vitte__utf8_seq_len(p + i, n - i);
            if (len == 0 || (len == 3 && c == 0xEF && p[i + 1] == 0xBF && p[i + 2] >= 0xBE)) {
                vitte__buf_append(b, VITTE__UTF8_REPLACEMENT, 3);
                i += len != 0 ? len : 1;
            } else {
                vitte__buf_append(b, p + i, len);
                i += len;
            }
            continue;
        }
        switch (c) {
        case '&':
            vitte__buf_append(b, "&amp;", 5);
            break;
        case '<':
            vitte__buf_append(b, "&lt;", 4);
            break;
        case '>':
            vitte__buf_append(b, "&gt;", 4);
            break;
        case '"':
            vitte__buf_append(b, "&quot;", 6);
            break;
        case '\'':
            vitte__buf_append(b, "&apos;", 6);
            break;
        default:
            vitte__buf_putc(b, c < 0x20 || c == 0x7f ? ' ' : (char)c);
            break;
        }
        i++;
    }
    return chars;
}

static size_t count_chars(const char *s, size_t n)
{
    size_t chars = 0;
    for (size_t i = 0; i < n; i++)
        chars += ((unsigned char)s[i] & 0xC0) != 0x80;
    return chars;
}

/* A stable warm colour per name: the same function has the same colour in
 * every graph, which helps comparing two of them. */
static void put_color(vitte__buf *b, const char *s, size_t n)
{
    uint64_t h = vitte__hash(s, n);
    unsigned r = 205 + (unsigned)(h % 51);
    unsigned g = 70 + (unsigned)((h >> 16) % 150);
    unsigned bl = 20 + (unsigned)((h >> 32) % 50);
    vitte__buf_printf(b, "rgb(%u,%u,%u)", r, g, bl);
}

static void put_frame(vitte__buf *b, const tree *t, const tnode *nd, uint64_t total, int icicle,
                      int height)
{
    const char *name = t->names->str[nd->name];
    size_t len = t->names->len[nd->name];
    double xp = 100.0 * (double)nd->x / (double)total;
    double wp = 100.0 * (double)nd->total / (double)total;
    double wpx = wp / 100.0 * FRAMES_W;
    int y = icicle ? TOP_H + (int)nd->depth * FRAME_H
                   : height - BOTTOM_H - ((int)nd->depth + 1) * FRAME_H;
    char d1[24], d2[24];
    vitte__export_fmt_dur(d1, sizeof d1, nd->total);
    vitte__export_fmt_dur(d2, sizeof d2, nd->self);

    vitte__buf_append(b, "<g><title>", 10);
    put_xml(b, name, len, SIZE_MAX);
    vitte__buf_printf(b, "\n%s, %.2f%%, self %s</title>", d1, wp, d2);
    vitte__buf_printf(b, "<rect x=\"%.4f%%\" y=\"%d\" width=\"%.4f%%\" height=\"%d\" fill=\"", xp,
                      y, wp, FRAME_H - 1);
    put_color(b, name, len);
    vitte__buf_printf(b, "\" rx=\"2\" ry=\"2\" fg:x=\"%llu\" fg:w=\"%llu\"/>",
                      (unsigned long long)nd->x, (unsigned long long)nd->total);
    vitte__buf_printf(b, "<text x=\"%.4f%%\" y=\"%.1f\">", xp + 100.0 * 3 / FRAMES_W,
                      y + FRAME_H / 2.0 + FONT_SIZE / 2.0 - 2);
    /* The label, cut to the width: "name" if it fits, "na.." if 3 or
     * more characters do, nothing otherwise. */
    size_t fit = wpx > 6 ? (size_t)((wpx - 6) / CHAR_W) : 0;
    size_t chars = count_chars(name, len);
    if (chars <= fit) {
        put_xml(b, name, len, SIZE_MAX);
    } else if (fit >= 3) {
        put_xml(b, name, len, fit - 2);
        vitte__buf_append(b, "..", 2);
    }
    vitte__buf_append(b, "</text></g>\n", 12);
}

/* The behaviour; reads everything it needs from the document (after a first
 * line with FW, the frames width in px, CW, the width of a character, and
 * ICICLE). */
static const char svg_script[] =
    "var frames, details, matched, unzoomBtn, searchBtn, all = [], rootW = 1, term = null;\n"
    "function rectOf(g) { return g.getElementsByTagName('rect')[0]; }\n"
    "function num(g, a) { return parseFloat(rectOf(g).getAttribute(a)); }\n"
    "function nameOf(g) {\n"
    "  var t = g.getElementsByTagName('title')[0].textContent;\n"
    "  var i = t.lastIndexOf('\\n'); return i < 0 ? t : t.substring(0, i);\n"
    "}\n"
    "function frameOf(e) {\n"
    "  while (e && e !== frames) { if (e.nodeName === 'g') return e; e = e.parentNode; }\n"
    "  return null;\n"
    "}\n"
    "function fit(g) {\n"
    "  var r = rectOf(g), t = g.getElementsByTagName('text')[0];\n"
    "  var w = parseFloat(r.getAttribute('width')) / 100 * FW, name = nameOf(g);\n"
    "  t.setAttribute('x', (parseFloat(r.getAttribute('x')) + 300 / FW) + '%');\n"
    "  var n = Math.floor((w - 6) / CW);\n"
    "  t.textContent = name.length <= n ? name : n >= 3 ? name.substring(0, n - 2) + '..' : '';\n"
    "}\n"
    "function init() {\n"
    "  frames = document.getElementById('frames');\n"
    "  details = document.getElementById('details').firstChild;\n"
    "  matched = document.getElementById('matched').firstChild;\n"
    "  unzoomBtn = document.getElementById('unzoom');\n"
    "  searchBtn = document.getElementById('search');\n"
    "  var gs = frames.getElementsByTagName('g');\n"
    "  for (var i = 0; i < gs.length; i++) {\n"
    "    var g = gs[i];\n"
    "    g.fx = num(g, 'fg:x'); g.fw = num(g, 'fg:w'); g.fy = num(g, 'y');\n"
    "    g.fill = rectOf(g).getAttribute('fill'); all.push(g);\n"
    "    if (g.fw > rootW) rootW = g.fw;\n"
    "  }\n"
    "  frames.addEventListener('click', function (e) { var g = frameOf(e.target); if (g) "
    "zoom(g); });\n"
    "  frames.addEventListener('mouseover', function (e) {\n"
    "    var g = frameOf(e.target); if (g) details.nodeValue = nameOf(g) + ': ' +\n"
    "      g.getElementsByTagName('title')[0].textContent.substring(nameOf(g).length + 1);\n"
    "  });\n"
    "  frames.addEventListener('mouseout', function () { details.nodeValue = ' '; });\n"
    "  unzoomBtn.addEventListener('click', function () { zoomTo(null); });\n"
    "  searchBtn.addEventListener('click', function () { term === null ? ask() : clearSearch(); "
    "});\n"
    "  window.addEventListener('keydown', function (e) {\n"
    "    if ((e.ctrlKey || e.metaKey) && (e.key === 'f' || e.key === 'F')) { e.preventDefault(); "
    "ask(); }\n"
    "    else if (e.key === 'Escape') { clearSearch(); zoomTo(null); }\n"
    "  });\n"
    "}\n"
    "function above(a, b) { return ICICLE ? a.fy < b.fy : a.fy > b.fy; }\n"
    "function zoom(g) { zoomTo(g); }\n"
    "function zoomTo(z) {\n"
    "  var zx = z ? z.fx : 0, zw = z ? z.fw : rootW;\n"
    "  for (var i = 0; i < all.length; i++) {\n"
    "    var g = all[i], r = rectOf(g), x = g.fx, w = g.fw;\n"
    "    if (z && x <= zx && x + w >= zx + zw && above(g, z)) {\n"
    "      r.setAttribute('x', '0%'); r.setAttribute('width', '100%');\n"
    "      g.style.display = ''; g.style.opacity = '0.6';\n"
    "    } else if (x >= zx && x + w <= zx + zw && (!z || g === z || !above(g, z))) {\n"
    "      r.setAttribute('x', ((x - zx) / zw * 100) + '%');\n"
    "      r.setAttribute('width', (w / zw * 100) + '%');\n"
    "      g.style.display = ''; g.style.opacity = '';\n"
    "    } else {\n"
    "      g.style.display = 'none'; continue;\n"
    "    }\n"
    "    fit(g);\n"
    "  }\n"
    "  unzoomBtn.style.opacity = z ? '1' : '0';\n"
    "}\n"
    "function ask() {\n"
    "  var t = window.prompt('Search frames (regular expression)', term || '');\n"
    "  if (t) search(t);\n"
    "}\n"
    "function search(t) {\n"
    "  var re;\n"
    "  try { re = new RegExp(t); } catch (e) { details.nodeValue = 'bad expression: ' + t; "
    "return; }\n"
    "  term = t;\n"
    "  var spans = [];\n"
    "  for (var i = 0; i < all.length; i++) {\n"
    "    var g = all[i], hit = re.test(nameOf(g));\n"
    "    rectOf(g).setAttribute('fill', hit ? 'rgb(230,0,230)' : g.fill);\n"
    "    if (hit) spans.push([g.fx, g.fx + g.fw]);\n"
    "  }\n"
    "  /* Nested matches cover the same time: merge the intervals. */\n"
    "  spans.sort(function (a, b) { return a[0] - b[0]; });\n"
    "  var sum = 0, end = -1;\n"
    "  for (var k = 0; k < spans.length; k++) {\n"
    "    var s = Math.max(spans[k][0], end);\n"
    "    if (spans[k][1] > s) { sum += spans[k][1] - s; end = spans[k][1]; }\n"
    "  }\n"
    "  matched.nodeValue = 'Matched: ' + (100 * sum / rootW).toFixed(2) + '%';\n"
    "  searchBtn.firstChild.nodeValue = 'Reset Search';\n"
    "}\n"
    "function clearSearch() {\n"
    "  term = null;\n"
    "  for (var i = 0; i < all.length; i++) rectOf(all[i]).setAttribute('fill', all[i].fill);\n"
    "  matched.nodeValue = ' ';\n"
    "  searchBtn.firstChild.nodeValue = 'Search';\n"
    "}\n"
    "]]></script>\n";

static int svg_event(vitte__xsink *s, const vitte__xevent *e)
{
    svg_sink *g = (svg_sink *)s;
    if (e->ev->type == VITTE_EVENT_SAMPLE)
        return vitte__xstacks_sample(&g->st, e);
    if (e->ev->type != VITTE_EVENT_SPAN)
        return 0;
    return vitte__xstacks_span(&g->st, e);
}

static void svg_skip(vitte__xsink *s, uint32_t stream, uint32_t tid, uint32_t depth)
{
    vitte__xstacks_skip(&((svg_sink *)s)->st, stream, tid, depth);
}

static void svg_stream_end(vitte__xsink *s, uint32_t stream)
{
    vitte__xstacks_stream_end(&((svg_sink *)s)->st, stream);
}

static int svg_finish(vitte__xsink *s, const vitte__xsummary *sum)
{
    svg_sink *g = (svg_sink *)s;
    vitte__buf *b = s->out;
    const vitte_trace_export_options *o = s->opt;
    if (g->st.err != 0)
        return g->st.err;
    tree t;
    int rc = build_tree(&t, &g->st, sum);
    if (rc != VITTE_OK) {
        tree_free(&t);
        return rc;
    }
    layout(&t);

    uint64_t total = t.n[0].total;
    int height = ((int)t.max_depth + 1) * FRAME_H + TOP_H + BOTTOM_H;
    const char *title = o->title != NULL ? o->title : o->icicle ? "Icicle Graph" : "Flame Graph";

    vitte__buf_puts(b, "<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"no\"?>\n");
    vitte__buf_printf(
        b,
        "<svg version=\"1.1\" width=\"%d\" height=\"%d\" viewBox=\"0 0 %d %d\" "
        "xmlns=\"http://www.w3.org/2000/svg\" xmlns:fg=\"http://github.com/jonhoo/inferno\" "
        "onload=\"init()\">\n",
        SVG_WIDTH, height, SVG_WIDTH, height);
    vitte__buf_puts(b, "<!-- a flame graph written by vitte: see docs/cli/vitte-inspect.md -->\n");
    vitte__buf_puts(b, "<style type=\"text/css\">\n"
                       "text { font-family: monospace; font-size: 12px; fill: rgb(0,0,0); }\n"
                       "#title { font-size: 17px; text-anchor: middle; }\n"
                       "#subtitle { fill: rgb(90,90,90); text-anchor: middle; }\n"
                       "#frames rect { stroke: rgb(255,255,255); stroke-width: 0.5; }\n"
                       "#frames g:hover rect { stroke: rgb(0,0,0); stroke-width: 1; }\n"
                       "#frames text { pointer-events: none; }\n"
                       ".button { cursor: pointer; fill: rgb(30,60,160); }\n"
                       "#unzoom { opacity: 0; }\n"
                       "</style>\n");
    vitte__buf_printf(b,
                      "<script type=\"text/ecmascript\"><![CDATA[\n'use strict';\n"
                      "var FW = %d, CW = %.1f, ICICLE = %d;\n",
                      FRAMES_W, CHAR_W, o->icicle ? 1 : 0);
    vitte__buf_append(b, svg_script, sizeof svg_script - 1);
    vitte__buf_printf(
        b, "<rect x=\"0\" y=\"0\" width=\"%d\" height=\"%d\" fill=\"rgb(250,248,240)\"/>\n",
        SVG_WIDTH, height);
    vitte__buf_printf(b, "<text id=\"title\" x=\"%d\" y=\"%d\">", SVG_WIDTH / 2, FONT_SIZE * 2);
    put_xml(b, title, strlen(title), SIZE_MAX);
    vitte__buf_puts(b, "</text>\n");

    char d1[24];
    vitte__export_fmt_dur(d1, sizeof d1, total);
    vitte__buf_printf(b, "<text id=\"subtitle\" x=\"%d\" y=\"%d\">%s of span time", SVG_WIDTH / 2,
                      FONT_SIZE * 2 + 16, d1);
    size_t read = 0;
    for (size_t i = 0; i < sum->n_files; i++)
        read += sum->files[i].opened;
    if (read == 1) {
        for (size_t i = 0; i < sum->n_files; i++)
            if (sum->files[i].opened) {
                vitte__buf_puts(b, " in ");
                put_xml(b, sum->files[i].path, strlen(sum->files[i].path), SIZE_MAX);
            }
    } else {
        vitte__buf_printf(b, " in %zu files", read);
    }
    vitte__buf_printf(b, ", %llu events dropped while recording", (unsigned long long)sum->dropped);
    if (sum->n_warnings != 0)
        vitte__buf_printf(b, ", %zu warnings (vitte inspect prints them)", sum->n_warnings);
    vitte__buf_puts(b, "</text>\n");
    vitte__buf_printf(b,
                      "<text id=\"unzoom\" class=\"button\" x=\"%d\" y=\"%d\">Reset Zoom</text>\n",
                      SVG_PAD, FONT_SIZE * 2);
    vitte__buf_printf(b,
                      "<text id=\"search\" class=\"button\" x=\"%d\" y=\"%d\" "
                      "text-anchor=\"end\">Search</text>\n",
                      SVG_WIDTH - SVG_PAD, FONT_SIZE * 2);
    vitte__buf_printf(b, "<text id=\"details\" x=\"%d\" y=\"%d\"> </text>\n", SVG_PAD,
                      height - FONT_SIZE);
    vitte__buf_printf(b, "<text id=\"matched\" x=\"%d\" y=\"%d\" text-anchor=\"end\"> </text>\n",
                      SVG_WIDTH - SVG_PAD, height - FONT_SIZE);

    vitte__buf_printf(b, "<svg id=\"frames\" x=\"%d\" y=\"0\" width=\"%d\" height=\"%d\">\n",
                      SVG_PAD, FRAMES_W, height);
    if (total == 0) {
        vitte__buf_printf(b, "<text x=\"50%%\" y=\"%d\" text-anchor=\"middle\">no spans</text>\n",
                          height / 2);
    } else {
        double min_ns = MIN_WIDTH_PX * (double)total / FRAMES_W;
        for (size_t i = 0; i < t.len && b->err == 0; i++) {
            const tnode *nd = &t.n[i];
            if (nd->total == 0 || (double)nd->total < min_ns)
                continue;
            put_frame(b, &t, nd, total, o->icicle, height);
        }
    }
    vitte__buf_puts(b, "</svg>\n</svg>\n");
    tree_free(&t);
    return b->err;
}

static void svg_destroy(vitte__xsink *s)
{
    svg_sink *g = (svg_sink *)s;
    vitte__xstacks_fini(&g->st);
    vitte__free(g);
}

static const vitte__xsink_ops svg_ops = {svg_event, svg_skip, svg_stream_end, svg_finish,
                                         svg_destroy};

int vitte__export_svg_create(vitte__buf *out, const vitte_trace_export_options *opt,
                             vitte__xsink **sink)
{
    svg_sink *g = vitte__calloc(1, sizeof *g);
    if (g == NULL)
        return VITTE_ENOMEM;
    g->base = (vitte__xsink){&svg_ops, out, opt};
    /* Per-thread roots need thread names, which are known at the end: the
     * stacks keep (thread, path) and the labels are made when drawing. */
    vitte__xstacks_init(&g->st, opt->per_thread);
    *sink = &g->base;
    return VITTE_OK;
}
