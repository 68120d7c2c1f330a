// Linux system calls that Glibc does not export to Swift in a usable shape.
#ifndef MUSTER_CLINUXSYSTEM_H
#define MUSTER_CLINUXSYSTEM_H

#include <stdint.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>

/// One readiness event, unpacked (struct epoll_event is packed on x86-64).
typedef struct {
    int32_t fd;
    uint32_t events;
} muster_ready_event;

int muster_epoll_create(void);
int muster_epoll_ctl(int epfd, int op, int fd, uint32_t events);
/// Waits for events; returns the count, or -1 with errno set.
int muster_epoll_wait(int epfd, muster_ready_event *events, int capacity, int timeout_ms);
int muster_eventfd(void);
int muster_accept4_nonblocking(int fd);
int muster_socket_nonblocking(int domain, int type);
/// The event loop whose thread this is (NULL on other threads).
void *muster_current_loop(void);
void muster_set_current_loop(void *loop);
/// Gives freed heap pages back to the system (malloc_trim(0)); returns whether any were.
int muster_return_free_heap(void);

/// Freed memory the allocator holds for reuse (mallinfo2's fordblks, every arena).
size_t muster_free_heap_bytes(void);

static inline uint32_t muster_EPOLLIN(void) { return EPOLLIN; }
static inline uint32_t muster_EPOLLOUT(void) { return EPOLLOUT; }
static inline uint32_t muster_EPOLLERR(void) { return EPOLLERR; }
static inline uint32_t muster_EPOLLHUP(void) { return EPOLLHUP; }
static inline uint32_t muster_EPOLLRDHUP(void) { return EPOLLRDHUP; }
static inline int muster_EPOLL_CTL_ADD(void) { return EPOLL_CTL_ADD; }
static inline int muster_EPOLL_CTL_MOD(void) { return EPOLL_CTL_MOD; }
static inline int muster_EPOLL_CTL_DEL(void) { return EPOLL_CTL_DEL; }

#endif
