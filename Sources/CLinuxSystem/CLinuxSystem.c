#define _GNU_SOURCE
#include <malloc.h>
#include "CLinuxSystem.h"
#include <errno.h>
#include <string.h>

int muster_epoll_create(void) { return epoll_create1(EPOLL_CLOEXEC); }

int muster_epoll_ctl(int epfd, int op, int fd, uint32_t events) {
    struct epoll_event event;
    memset(&event, 0, sizeof event);
    event.events = events;
    event.data.fd = fd;
    return epoll_ctl(epfd, op, fd, &event);
}

int muster_epoll_wait(int epfd, muster_ready_event *out, int capacity, int timeout_ms) {
    struct epoll_event events[256];
    if (capacity > 256) capacity = 256;
    int count = epoll_wait(epfd, events, capacity, timeout_ms);
    for (int i = 0; i < count; i++) {
        out[i].fd = events[i].data.fd;
        out[i].events = events[i].events;
    }
    return count;
}

int muster_eventfd(void) { return eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC); }

int muster_accept4_nonblocking(int fd) {
    return accept4(fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
}

int muster_socket_nonblocking(int domain, int type) {
    return socket(domain, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
}

int muster_return_free_heap(void) { return malloc_trim(0); }

size_t muster_free_heap_bytes(void) { return mallinfo2().fordblks; }

static __thread void *current_loop;
void *muster_current_loop(void) { return current_loop; }
void muster_set_current_loop(void *loop) { current_loop = loop; }
