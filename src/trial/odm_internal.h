/* Names the ODM writer and reader share (not public): the OIDs of the events, forms,
 * item groups and items generated from the field definitions, and their order. */
#ifndef LEOPARDS_ODM_INTERNAL_H
#define LEOPARDS_ODM_INTERNAL_H

#include <stddef.h>

#include <leopards/forms.h>

#define LP__ODM_NFORMS 7
extern const lp_form_id lp__odm_order[LP__ODM_NFORMS];
void lp__odm_form_oid(const lp_form *f, char *buf, size_t n);
void lp__odm_event_oid(const lp_form *f, char *buf, size_t n);
void lp__odm_group_oid(const lp_form *f, char *buf, size_t n);
void lp__odm_item_oid(const lp_form *f, const lp_field *x, char *buf, size_t n);

#endif
