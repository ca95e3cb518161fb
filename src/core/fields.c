/* The export's fields (include/leopards/fields.h): the one list of the tables and
 * columns that data capture writes and the analysis reads. */
#include <leopards/fields.h>

#include <stdio.h>
#include <string.h>

static const lp_field fields[LP_F_COUNT] = {
#define LP_X_FIELD(id, tbl, col, typ, un, lv) [LP_F_##id] = {tbl, col, LP_FIELD_##typ, un, lv},
    LP_EXPORT_FIELDS(LP_X_FIELD)
#undef LP_X_FIELD
};

const lp_field *lp_field_get(lp_field_id id) { return &fields[(unsigned)id < LP_F_COUNT ? id : 0]; }

const char *lp_field_column(lp_field_id id) { return lp_field_get(id)->column; }

size_t lp_field_level(lp_field_id id, size_t k, char *buf, size_t n) {
  const char *s = lp_field_get(id)->levels;
  if (!*s) return 0;
  for (; k > 0; k--) {
    s = strchr(s, '|');
    if (!s) return 0;
    s++;
  }
  size_t len = strcspn(s, "|");
  if (n) snprintf(buf, n, "%.*s", (int)len, s);
  return len < n ? len : 0;
}
