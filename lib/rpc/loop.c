/* The event loop shared by the rpc stack and whatever else a daemon watches
 * (signalfd, process pipes, ptys): epoll for fds, a sorted list for timers.
 * Watchers removed during a dispatch are freed only after it, so callbacks may
 * remove any fd, their own included. */
#include <cz/rpc.h>

#include "base/util.h"

#include <errno.h>
#include <sys/epoll.h>

typedef struct watcher {
    int fd;
    bool deleted;
    cz_loop_fd_fn fn;
    void *data;
    struct watcher *next; /* all watchers, for lookup by fd and freeing */
} watcher;

typedef struct timer {
    uint64_t id;
    uint64_t due_ns;
    cz_loop_timer_fn fn;
    void *data;
    struct timer *next;
} timer;

struct cz_loop {
    int epfd;
    bool stop;
    watcher *watchers;
    timer *timers; /* sorted by due time, then id */
    uint64_t next_timer_id;
};

cz_loop *cz_loop_new(cz_error *err)
{
    int epfd = epoll_create1(EPOLL_CLOEXEC);
    if (epfd < 0) {
        cz_error_errno(err, errno, "epoll_create1");
        return NULL;
    }
    cz_loop *loop = cz_xcalloc(1, sizeof(*loop));
    loop->epfd = epfd;
    loop->next_timer_id = 1;
    return loop;
}

void cz_loop_free(cz_loop *loop)
{
    if (!loop)
        return;
    for (watcher *w = loop->watchers, *n; w; w = n) {
        n = w->next;
        free(w);
    }
    for (timer *t = loop->timers, *n; t; t = n) {
        n = t->next;
        free(t);
    }
    close(loop->epfd);
    free(loop);
}

static uint32_t to_epoll(uint32_t events)
{
    uint32_t e = 0;
    if (events & CZ_LOOP_IN)
        e |= EPOLLIN | EPOLLRDHUP;
    if (events & CZ_LOOP_OUT)
        e |= EPOLLOUT;
    return e;
}

static watcher *find_watcher(cz_loop *loop, int fd)
{
    for (watcher *w = loop->watchers; w; w = w->next)
        if (w->fd == fd && !w->deleted)
            return w;
    return NULL;
}

int cz_loop_add_fd(cz_loop *loop, int fd, uint32_t events, cz_loop_fd_fn fn, void *data,
                   cz_error *err)
{
    watcher *w = cz_xcalloc(1, sizeof(*w));
    w->fd = fd;
    w->fn = fn;
    w->data = data;
    struct epoll_event ev = {.events = to_epoll(events), .data.ptr = w};
    if (epoll_ctl(loop->epfd, EPOLL_CTL_ADD, fd, &ev) < 0) {
        int e = errno;
        free(w);
        return cz_error_errno(err, e, "watch fd %d", fd);
    }
    w->next = loop->watchers;
    loop->watchers = w;
    return 0;
}

int cz_loop_mod_fd(cz_loop *loop, int fd, uint32_t events, cz_error *err)
{
    watcher *w = find_watcher(loop, fd);
    if (!w)
        return cz_error_set(err, ENOENT, "fd %d is not watched", fd);
    struct epoll_event ev = {.events = to_epoll(events), .data.ptr = w};
    if (epoll_ctl(loop->epfd, EPOLL_CTL_MOD, fd, &ev) < 0)
        return cz_error_errno(err, errno, "watch fd %d", fd);
    return 0;
}

void cz_loop_del_fd(cz_loop *loop, int fd)
{
    watcher *w = find_watcher(loop, fd);
    if (!w)
        return;
    epoll_ctl(loop->epfd, EPOLL_CTL_DEL, fd, NULL);
    w->deleted = true; /* freed after the current dispatch */
}

uint64_t cz_loop_add_timer(cz_loop *loop, uint64_t delay_ms, cz_loop_timer_fn fn, void *data)
{
    timer *t = cz_xcalloc(1, sizeof(*t));
    t->id = loop->next_timer_id++;
    t->due_ns = cz_now_ns() + delay_ms * 1000000ull;
    t->fn = fn;
    t->data = data;
    timer **pp = &loop->timers;
    while (*pp && (*pp)->due_ns <= t->due_ns)
        pp = &(*pp)->next;
    t->next = *pp;
    *pp = t;
    return t->id;
}

void cz_loop_cancel_timer(cz_loop *loop, uint64_t id)
{
    for (timer **pp = &loop->timers; *pp; pp = &(*pp)->next) {
        if ((*pp)->id == id) {
            timer *t = *pp;
            *pp = t->next;
            free(t);
            return;
        }
    }
}

static void sweep_watchers(cz_loop *loop)
{
    for (watcher **pp = &loop->watchers; *pp;) {
        watcher *w = *pp;
        if (w->deleted) {
            *pp = w->next;
            free(w);
        } else {
            pp = &w->next;
        }
    }
}

/* Run timers due now that existed when this turn began (a timer added by a
 * timer callback runs on the next turn, so zero-delay timers cannot starve fds). */
static void run_timers(cz_loop *loop)
{
    uint64_t now = cz_now_ns();
    uint64_t last_id = loop->next_timer_id;
    for (;;) {
        timer **pp = &loop->timers;
        while (*pp && (*pp)->due_ns <= now && (*pp)->id >= last_id)
            pp = &(*pp)->next;
        timer *t = *pp;
        if (!t || t->due_ns > now)
            break;
        *pp = t->next;
        cz_loop_timer_fn fn = t->fn;
        void *data = t->data;
        free(t);
        fn(loop, data);
    }
}

int cz_loop_run_once(cz_loop *loop, int timeout_ms, cz_error *err)
{
    if (loop->timers) {
        uint64_t now = cz_now_ns();
        int64_t until = loop->timers->due_ns > now
                            ? (int64_t)((loop->timers->due_ns - now + 999999) / 1000000)
                            : 0;
        if (timeout_ms < 0 || until < timeout_ms)
            timeout_ms = (int)CZ_MIN(until, (int64_t)1 << 30);
    }
    struct epoll_event evs[64];
    int n = epoll_wait(loop->epfd, evs, (int)CZ_ARRAY_SIZE(evs), timeout_ms);
    if (n < 0) {
        if (errno == EINTR)
            return 0;
        return cz_error_errno(err, errno, "epoll_wait");
    }
    for (int i = 0; i < n; i++) {
        watcher *w = evs[i].data.ptr;
        if (w->deleted)
            continue;
        uint32_t e = 0;
        if (evs[i].events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR))
            e |= CZ_LOOP_IN;
        if (evs[i].events & (EPOLLOUT | EPOLLERR))
            e |= CZ_LOOP_OUT;
        w->fn(loop, w->fd, e, w->data);
    }
    run_timers(loop);
    sweep_watchers(loop);
    return 0;
}

int cz_loop_run(cz_loop *loop, cz_error *err)
{
    loop->stop = false;
    while (!loop->stop)
        if (cz_loop_run_once(loop, -1, err) < 0)
            return -1;
    return 0;
}

void cz_loop_stop(cz_loop *loop)
{
    loop->stop = true;
}
