/* Stand-in for registry.k8s.io/pause: hold the pod sandbox's namespaces, reap
 * zombies (it is PID 1 of the sandbox when the pod shares its PID namespace),
 * exit 0 on SIGINT/SIGTERM. Built with `gcc -static -Os`. */
#include <signal.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

static void quit(int sig) { (void)sig; _exit(0); }
static void reap(int sig) { (void)sig; while (waitpid(-1, NULL, WNOHANG) > 0) {} }

int main(int argc, char **argv) {
  if (argc > 1 && argv[1][0] == '-' && argv[1][1] == 'v') { write(1, "pause.c chstack-standin 3.10.1\n", 31); return 0; }
  if (getpid() != 1) write(2, "Warning: pause should be the first process\n", 43);
  struct sigaction q = {.sa_handler = quit}, r = {.sa_handler = reap, .sa_flags = SA_NOCLDSTOP};
  sigaction(SIGINT, &q, NULL);
  sigaction(SIGTERM, &q, NULL);
  sigaction(SIGCHLD, &r, NULL);
  for (;;) pause();
  return 42;
}
