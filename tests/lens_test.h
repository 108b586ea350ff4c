/* A minimal test harness: each test is a function; a failed check records the location and
 * the test goes on to the next. main() comes from LENS_TEST_MAIN. */
#ifndef LENS_TEST_H
#define LENS_TEST_H

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lens/lens.h"

static int lens_test_failures_;

#define CHECK(cond)                                                                           \
  do {                                                                                        \
    if (!(cond)) {                                                                            \
      fprintf(stderr, "  %s:%d: check failed: %s\n", __FILE__, __LINE__, #cond);             \
      lens_test_failures_++;                                                                  \
    }                                                                                         \
  } while (0)

#define CHECK_MSG(cond, ...)                                                                  \
  do {                                                                                        \
    if (!(cond)) {                                                                            \
      fprintf(stderr, "  %s:%d: check failed: %s: ", __FILE__, __LINE__, #cond);             \
      fprintf(stderr, __VA_ARGS__);                                                           \
      fprintf(stderr, "\n");                                                                  \
      lens_test_failures_++;                                                                  \
    }                                                                                         \
  } while (0)

/* Expects success; prints and frees the status otherwise. */
#define CHECK_OK(expr)                                                                        \
  do {                                                                                        \
    lens_status *check_ok_st_ = (expr);                                                       \
    if (check_ok_st_) {                                                                       \
      fprintf(stderr, "  %s:%d: %s failed: %s\n", __FILE__, __LINE__, #expr,                 \
              lens_status_message(check_ok_st_));                                             \
      lens_status_free(check_ok_st_);                                                         \
      lens_test_failures_++;                                                                  \
    }                                                                                         \
  } while (0)

/* Expects a failure with this code whose message contains needle (NULL: any message). */
#define CHECK_ERR(expr, code, needle)                                                         \
  do {                                                                                        \
    lens_status *check_err_st_ = (expr);                                                      \
    if (!check_err_st_) {                                                                     \
      fprintf(stderr, "  %s:%d: %s succeeded, expected an error\n", __FILE__, __LINE__,      \
              #expr);                                                                         \
      lens_test_failures_++;                                                                  \
    } else {                                                                                  \
      const char *m_ = lens_status_message(check_err_st_);                                    \
      if (lens_status_get_code(check_err_st_) != (code) ||                                    \
          ((needle) && !strstr(m_, (needle)))) {                                              \
        fprintf(stderr, "  %s:%d: %s: unexpected error (code %d): %s\n", __FILE__, __LINE__,  \
                #expr, (int)lens_status_get_code(check_err_st_), m_);                         \
        lens_test_failures_++;                                                                \
      }                                                                                       \
      lens_status_free(check_err_st_);                                                        \
    }                                                                                         \
  } while (0)

#define CHECK_NEAR(a, b, tol)                                                                 \
  do {                                                                                        \
    double check_a_ = (a), check_b_ = (b);                                                    \
    if (!(fabs(check_a_ - check_b_) <= (tol))) {                                              \
      fprintf(stderr, "  %s:%d: %s = %.9g, expected %.9g (tol %g)\n", __FILE__, __LINE__, #a, \
              check_a_, check_b_, (double)(tol));                                             \
      lens_test_failures_++;                                                                  \
    }                                                                                         \
  } while (0)

typedef struct lens_test_case {
  const char *name;
  void (*fn)(void);
} lens_test_case;

#define LENS_TEST(name) {#name, name}

/* Prints one line per test and "N passed, N failed"; exits non-zero on any failure. */
#define LENS_TEST_MAIN(...)                                                                   \
  int main(int argc, char **argv) {                                                           \
    static const lens_test_case cases[] = {__VA_ARGS__};                                      \
    int passed = 0, failed = 0;                                                               \
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {                             \
      if (argc > 1 && !strstr(cases[i].name, argv[1])) continue;                              \
      int before = lens_test_failures_;                                                       \
      cases[i].fn();                                                                          \
      int ok = lens_test_failures_ == before;                                                 \
      printf("%s %s\n", ok ? "PASS" : "FAIL", cases[i].name);                                 \
      fflush(stdout);                                                                         \
      if (ok) passed++;                                                                       \
      else failed++;                                                                          \
    }                                                                                         \
    printf("%d passed, %d failed\n", passed, failed);                                         \
    return failed ? 1 : 0;                                                                    \
  }

#endif
