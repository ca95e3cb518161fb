/* Dates as the trial records them: ISO 8601 text to days since 1970-01-01 (UTC), the
 * one parser that the store's views and the outcome derivation share. */
#include <leopards/table.h>

#include <math.h>
#include <stdio.h>
#include <time.h>

double lp_parse_iso_days(const char *s) {
  if (!s) return NAN;
  int y, mo, d, h = 0, mi = 0;
  double sec = 0;
  int k = sscanf(s, "%4d-%2d-%2dT%2d:%2d:%lf", &y, &mo, &d, &h, &mi, &sec);
  if (k < 3 || (k > 3 && k < 5) || mo < 1 || mo > 12 || d < 1 || d > 31) return NAN;
  struct tm tm = {0};
  tm.tm_year = y - 1900;
  tm.tm_mon = mo - 1;
  tm.tm_mday = d;
  tm.tm_hour = h;
  tm.tm_min = mi;
  return ((double)timegm(&tm) + sec) / 86400.0;
}
