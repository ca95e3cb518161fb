/* leopards entry: what data entry on the web needs beside lp_record_json: the saved
 * records of a patient's forms (to edit them), drafts of forms not yet submitted, the
 * list of a patient's forms with their state, the time window of an ICU day, and the
 * rule of the expedited report of an adverse event. A draft is not clinical data: it
 * is never checked, analysed or exported, and submitting the form deletes it. */
#ifndef LEOPARDS_ENTRY_H
#define LEOPARDS_ENTRY_H

#include <stdbool.h>
#include <stddef.h>

#include <leopards/core.h>
#include <leopards/trial.h>

#ifdef __cplusplus
extern "C" {
#endif

/* The saved record of a form as a JSON object of its columns (id and patient
 * included), or *json = NULL when there is none. `key`: the day of a daily record,
 * the id of an adverse event; ignored for the other forms. *json malloc'ed. */
lp_status lp_record_get(lp_trial *t, lp_record_kind kind, const char *patient, long key, char **json, lp_error *err);
/* Every record of a form of a patient as a JSON array (daily by day, infusion events
 * by hour, adverse events by id). *json malloc'ed. */
lp_status lp_record_list(lp_trial *t, lp_record_kind kind, const char *patient, char **json, lp_error *err);

/* lp_record_json_checked for the values of a web form: every value comes as text
 * (numbers as they were typed, "" for a value left empty), read as from a CSV file,
 * with the same checks and messages. With check_only nothing is written. */
lp_status lp_record_form_checked(lp_trial *t, lp_record_kind kind, const char *json, const char *source,
                                 const char *user, const char *reason, bool check_only, size_t *rows, lp_findings *out,
                                 lp_error *err);

/* ---- drafts ---- */

typedef struct lp_draft {
  char *data; /* the form's values as a JSON object (text, as entered); malloc'ed */
  char saved_at[40];
  char saved_by[64];
} lp_draft;
void lp_draft_clear(lp_draft *d);

/* Keep (or replace) the draft of a form: `key` as for lp_record_get (0 for a new
 * adverse event). Only an investigator of the patient's site keeps drafts; refused
 * after lock. `json` is an object of at most 64 KiB. */
lp_status lp_draft_save(lp_trial *t, const char *patient, lp_record_kind kind, long key, const char *json,
                        const char *user, lp_error *err);
/* The draft, *found false when there is none. */
lp_status lp_draft_get(lp_trial *t, const char *patient, lp_record_kind kind, long key, lp_draft *out, bool *found,
                       lp_error *err);
/* Delete the draft (none: nothing to do). */
lp_status lp_draft_discard(lp_trial *t, const char *patient, lp_record_kind kind, long key, lp_error *err);

/* ---- a patient's forms ---- */

/* The state of one form. Queried, verified and signed are the later steps of the
 * data review (queries, source verification, signatures). */
typedef enum {
  LP_FORM_STATE_EMPTY,
  LP_FORM_STATE_DRAFT,    /* in progress: a draft saved, or an infusion log not ended */
  LP_FORM_STATE_COMPLETE, /* submitted */
  LP_FORM_STATE_QUERIED,
  LP_FORM_STATE_VERIFIED,
  LP_FORM_STATE_SIGNED
} lp_form_state;
const char *lp_form_state_name(lp_form_state s); /* "empty", "in progress", "complete", ... */

typedef struct lp_form_entry {
  lp_record_kind kind;
  long key; /* day of a daily record, id of an adverse event (0: a new one), else 0 */
  lp_form_state state;
  bool due;       /* can be recorded now (a daily record: its 24 hours are over) */
  bool draft;     /* a draft is kept (also for a complete form being changed) */
  char start[24]; /* a daily record: its 24 hours, "YYYY-MM-DDTHH:MMZ" (UTC) */
  char end[24];
} lp_form_entry;

/* The forms of a randomised patient: baseline, the infusion log, each ICU day begun
 * so far (up to day 28), the outcome, each adverse event and a new one. *out
 * malloc'ed. */
lp_status lp_patient_forms(lp_trial *t, const char *patient, lp_form_entry **out, size_t *n, lp_error *err);

/* Day d of a patient randomised at `randomized_at` is the d-th 24 hours from then:
 * its start and end as "YYYY-MM-DDTHH:MMZ". False when the time cannot be read. */
bool lp_icu_day_window(const char *randomized_at, int day, char start[24], char end[24]);

/* ---- adverse events ---- */

/* A relationship to the study drug counted as related: possible, probable, definite. */
bool lp_ae_related(const char *relatedness);
/* A serious, related, unexpected event (a SUSAR): reported to the sponsor at once. */
bool lp_ae_expedited(bool serious, const char *relatedness, bool expected);

#ifdef __cplusplus
}
#endif
#endif
