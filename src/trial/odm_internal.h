/* Names the ODM writer and reader share (not public): the forms of a casebook in ODM
 * (the case report forms of leopards/forms.h, then the data queries, source data
 * verifications and casebook signatures, forms of ODM only, defined in odm.c), the OIDs
 * of their events, forms, item groups and items, and their order. */
#ifndef LEOPARDS_ODM_INTERNAL_H
#define LEOPARDS_ODM_INTERNAL_H

#include <stddef.h>

#include <leopards/forms.h>

/* The forms of ODM only (ids after those of leopards/forms.h; lp_form_get knows none). */
#define LP__ODM_QUERY ((lp_form_id)(LP_FORM_COUNT + 0))
#define LP__ODM_SDV ((lp_form_id)(LP_FORM_COUNT + 1))
#define LP__ODM_SIGNATURE ((lp_form_id)(LP_FORM_COUNT + 2))

#define LP__ODM_NFORMS 11
/* The i-th form of a casebook, in the order of the file (and of an import). */
const lp_form *lp__odm_form(size_t i);
/* The form whose table is `table` (NULL: none). */
const lp_form *lp__odm_form_of_table(const char *table);
void lp__odm_form_oid(const lp_form *f, char *buf, size_t n);
void lp__odm_event_oid(const lp_form *f, char *buf, size_t n);
void lp__odm_group_oid(const lp_form *f, char *buf, size_t n);
void lp__odm_item_oid(const lp_form *f, const lp_field *x, char *buf, size_t n);

/* The SignatureDef of a casebook signature (AdminData). */
#define LP__ODM_CASEBOOK_SIGNATURE "SD.casebook"

#endif
