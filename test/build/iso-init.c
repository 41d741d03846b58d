/*
 * /init of the tiny initrd the ISO tests boot (test/build/iso.test.ts): built with gcc -static,
 * it needs nothing else in the initrd. It prints one marker line with the kernel command line,
 * so a test can see which menu entry booted, then echoes every line typed on the console.
 */
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <unistd.h>

int main(void) {
  int fd = open("/dev/console", O_RDWR);
  if (fd >= 0) {
    dup2(fd, 0);
    dup2(fd, 1);
    dup2(fd, 2);
    if (fd > 2) close(fd);
  }
  char cmdline[4096] = "";
  if (mount("proc", "/proc", "proc", 0, NULL) == 0) {
    FILE *f = fopen("/proc/cmdline", "r");
    if (f != NULL) {
      if (fgets(cmdline, sizeof cmdline, f) == NULL) cmdline[0] = '\0';
      fclose(f);
    }
  }
  cmdline[strcspn(cmdline, "\n")] = '\0';
  printf("lifeboat-test: ready cmdline=[%s]\n", cmdline);
  fflush(stdout);
  char line[256];
  while (fgets(line, sizeof line, stdin) != NULL) {
    printf("answer: %s", line);
    fflush(stdout);
  }
  for (;;) pause();
}
