/* Process memory figures read natively: /proc/self/statm, glibc's
   mallinfo2() and malloc_trim(), and pymalloc's own statistics. */
#include "memory.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#if defined(__GLIBC__)
#  include <malloc.h>
#  define PMT_HAVE_MALLOC_TRIM 1
#  if __GLIBC__ > 2 || (__GLIBC__ == 2 && __GLIBC_MINOR__ >= 33)
#    define PMT_HAVE_MALLINFO2 1     /* mallinfo2() arrived in glibc 2.33 */
#  else
#    define PMT_HAVE_MALLINFO2 0
#  endif
#else
#  define PMT_HAVE_MALLOC_TRIM 0
#  define PMT_HAVE_MALLINFO2 0
#endif

/* One figure: known (value >= 0) or not (-1, shown as None). */
typedef long long pmt_figure;

static PyObject *
figure_or_none(pmt_figure v)
{
    if (v < 0) {
        Py_RETURN_NONE;
    }
    return PyLong_FromLongLong(v);
}

/* Resident set size in bytes from /proc/self/statm, or -1 where there is
   none. Runs without the GIL: no Python API. */
static pmt_figure
read_rss(void)
{
    char buf[256];
    int fd = open("/proc/self/statm", O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        return -1;
    }
    ssize_t n = read(fd, buf, sizeof(buf) - 1);
    close(fd);
    if (n <= 0) {
        return -1;
    }
    buf[n] = '\0';
    /* "size resident shared text lib data dt", in pages */
    char *end;
    (void)strtoll(buf, &end, 10);
    if (end == buf) {
        return -1;
    }
    char *start = end;
    long long pages = strtoll(start, &end, 10);
    long page = sysconf(_SC_PAGESIZE);
    if (end == start || pages < 0 || page <= 0) {
        return -1;
    }
    return pages * (long long)page;
}

typedef struct {
    pmt_figure in_use;      /* bytes handed out by malloc, mmapped chunks included */
    pmt_figure free;        /* bytes free inside malloc's arenas, kept from the OS */
} pmt_malloc_figures;

/* glibc's own totals over every arena. Runs without the GIL. */
static void
read_mallinfo(pmt_malloc_figures *out)
{
    out->in_use = -1;
    out->free = -1;
#if PMT_HAVE_MALLINFO2
    struct mallinfo2 mi = mallinfo2();
    out->in_use = (pmt_figure)(mi.uordblks + mi.hblkhd);
    out->free = (pmt_figure)mi.fordblks;
#endif
}

typedef struct {
    pmt_figure in_use;      /* "# bytes in allocated blocks" */
    pmt_figure free;        /* "# bytes in available blocks" plus unused pools */
    pmt_figure arenas;      /* "N arenas * S bytes/arena": bytes pymalloc holds */
} pmt_pymalloc_figures;

/* The number after the '=' of a printone() line: digits with commas. */
static pmt_figure
parse_printone(const char *line)
{
    const char *eq = strchr(line, '=');
    if (eq == NULL) {
        return -1;
    }
    pmt_figure v = 0;
    int digits = 0;
    for (const char *p = eq + 1; *p != '\0'; p++) {
        if (*p >= '0' && *p <= '9') {
            v = v * 10 + (*p - '0');
            digits++;
        }
        else if (*p != ',' && *p != ' ') {
            return -1;
        }
    }
    return digits ? v : -1;
}

/* pymalloc's figures, parsed from _PyObject_DebugMallocStats() (what
   sys._debugmallocstats() prints), written to a memory stream rather than
   stderr. All -1 when pymalloc is not the object allocator
   (PYTHONMALLOC=malloc, debug hooks over malloc). Needs the GIL.
   0, or -1 with an exception. */
static int
read_pymalloc(pmt_pymalloc_figures *out)
{
    out->in_use = out->free = out->arenas = -1;
    char *text = NULL;
    size_t len = 0;
    FILE *stream = open_memstream(&text, &len);
    if (stream == NULL) {
        PyErr_SetFromErrno(PyExc_OSError);
        return -1;
    }
    int used = _PyObject_DebugMallocStats(stream);
    if (fclose(stream) != 0) {
        free(text);
        PyErr_SetFromErrno(PyExc_OSError);
        return -1;
    }
    if (used && text != NULL) {
        pmt_figure available = -1, unused_pools = -1;
        for (char *line = text; line != NULL && *line != '\0';) {
            char *next = strchr(line, '\n');
            if (next != NULL) {
                *next++ = '\0';
            }
            if (strncmp(line, "# bytes in allocated blocks", 27) == 0) {
                out->in_use = parse_printone(line);
            }
            else if (strncmp(line, "# bytes in available blocks", 27) == 0) {
                available = parse_printone(line);
            }
            else if (out->arenas < 0 && strstr(line, " bytes/arena") != NULL) {
                out->arenas = parse_printone(line);
            }
            else if (unused_pools < 0 && strstr(line, " unused pools * ") != NULL) {
                unused_pools = parse_printone(line);
            }
            line = next;
        }
        if (available >= 0 && unused_pools >= 0) {
            out->free = available + unused_pools;
        }
    }
    free(text);     /* open_memstream's buffer comes from malloc */
    return 0;
}

/* memory_stats() -> (rss, malloc_in_use, malloc_free, pymalloc_in_use,
   pymalloc_free, pymalloc_arenas): bytes, None where unknown. */
static PyObject *
pmt_memory_stats(PyObject *Py_UNUSED(module), PyObject *Py_UNUSED(ignored))
{
    pmt_pymalloc_figures py;
    if (read_pymalloc(&py) < 0) {
        return NULL;
    }
    pmt_figure rss;
    pmt_malloc_figures mf;
    Py_BEGIN_ALLOW_THREADS
    read_mallinfo(&mf);
    rss = read_rss();
    Py_END_ALLOW_THREADS
    return Py_BuildValue("(NNNNNN)", figure_or_none(rss), figure_or_none(mf.in_use),
                         figure_or_none(mf.free), figure_or_none(py.in_use),
                         figure_or_none(py.free), figure_or_none(py.arenas));
}

/* malloc_trim() -> True if glibc returned memory to the OS, False if it had
   none to return, None where there is no malloc_trim. */
static PyObject *
pmt_malloc_trim(PyObject *Py_UNUSED(module), PyObject *Py_UNUSED(ignored))
{
#if PMT_HAVE_MALLOC_TRIM
    int released;
    Py_BEGIN_ALLOW_THREADS
    released = malloc_trim(0);
    Py_END_ALLOW_THREADS
    return PyBool_FromLong(released);
#else
    Py_RETURN_NONE;
#endif
}

PyMethodDef pmt_memory_methods[] = {
    {"memory_stats", pmt_memory_stats, METH_NOARGS,
     "memory_stats() -> (rss, malloc_in_use, malloc_free, pymalloc_in_use, pymalloc_free, "
     "pymalloc_arenas) in bytes, None where the platform cannot say."},
    {"malloc_trim", pmt_malloc_trim, METH_NOARGS,
     "malloc_trim() -> True if glibc returned memory to the OS, False if none, "
     "None without glibc."},
    {NULL, NULL, 0, NULL},
};
