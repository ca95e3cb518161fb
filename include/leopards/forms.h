/* leopards forms: the one set of field definitions of the trial's case report forms
 * (screening, consent, baseline, daily ICU record, infusion log, outcome, adverse events).
 * Validation of every record, the command line's help and CSV columns, the data
 * dictionary and the ODM metadata are all generated from these tables, so a field has
 * one name, type, unit and range everywhere. */
#ifndef LEOPARDS_FORMS_H
#define LEOPARDS_FORMS_H

#include <stdbool.h>
#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef enum {
  LP_FIELD_INTEGER,
  LP_FIELD_REAL,
  LP_FIELD_BOOL, /* 0 or 1 */
  LP_FIELD_TEXT,
  LP_FIELD_DATE, /* YYYY-MM-DD, optionally THH:MM or THH:MM:SS (UTC) */
  LP_FIELD_CHOICE
} lp_field_type;

enum {
  LP_FIELD_REQUIRED = 1, /* a new record needs it */
  LP_FIELD_KEY = 2,      /* identifies the record with the patient (daily: day) */
  LP_FIELD_FRACTION = 4  /* a fraction; a value that looks like a percentage is refused */
};

typedef struct lp_field {
  const char *name;  /* the one name: JSON key, CSV column, database column, ODM ItemDef Name */
  const char *label; /* short description, as the data dictionary gives it */
  lp_field_type type;
  const char *unit;          /* "" when none */
  double min, max;           /* physical limits (numbers): a value outside is refused */
  double soft_min, soft_max; /* plausible range: outside is accepted with a warning (NAN: none) */
  const char *choices;       /* "a|b|c" for LP_FIELD_CHOICE */
  const char *help;          /* more for help texts (may be NULL) */
  unsigned flags;
  const char *alt;      /* the same value in other units under another name (NULL: none) */
  const char *alt_unit; /* its unit */
  double alt_div;       /* value in alt units / alt_div = value in `unit` */
  const char *old_name; /* an earlier name still accepted on input, with a message (NULL: none) */
} lp_field;

/* The forms, in the order of lp_record_kind for the clinical ones. */
typedef enum {
  LP_FORM_BASELINE,
  LP_FORM_DAILY,
  LP_FORM_INFUSION,
  LP_FORM_OUTCOME,
  LP_FORM_AE,
  LP_FORM_SCREENING,
  LP_FORM_RANDOMISATION, /* the time of randomisation (never the arm or the pack) */
  LP_FORM_CONSENT,       /* informed consent before randomisation, and retrospective consent */
  LP_FORM_COUNT
} lp_form_id;

typedef struct lp_form {
  lp_form_id id;
  const char *name;  /* "baseline", "daily", ... (the record kind) */
  const char *label; /* "Baseline", "Daily ICU record", ... */
  const char *table; /* the database table, and the export's CSV file */
  bool repeating;    /* more than one per patient (daily, infusion, ae) */
  const lp_field *fields;
  size_t nfields;
} lp_form;

const lp_form *lp_form_get(lp_form_id id);
/* By name ("baseline", ...); NULL when there is none. */
const lp_form *lp_form_find(const char *name);
/* The form whose table is `table`; NULL when none. */
const lp_form *lp_form_of_table(const char *table);
/* A field of a form by its name (not an old name or alternative); NULL if none. */
const lp_field *lp_form_field(const lp_form *f, const char *name);
/* The field an input name stands for: its name, its alternative in other units
 * (*alt = true) or an old name (*old = true). NULL when the name is unknown. */
const lp_field *lp_form_resolve(const lp_form *f, const char *input, bool *alt, bool *old);
/* "integer", "number", "0/1", "text", "date", "choice". */
const char *lp_field_type_name(lp_field_type t);
/* One line describing a field for help texts and the data dictionary:
 * "label (type, unit, min to max); or ALT in ALT_UNIT (1 unit = F ALT_UNIT; kept in unit)". */
void lp_field_describe(const lp_field *f, char *buf, size_t n);
/* The field list of a form for help texts, one field a line. */
void lp_form_help(const lp_form *f, char *buf, size_t n);

#ifdef __cplusplus
}
#endif
#endif
