/* load.h - one entry for every image kestrel boots: recognise the format by its contents, hand it
 * to its loader. */
#ifndef KESTREL_LOAD_LOAD_H
#define KESTREL_LOAD_LOAD_H

#include "load/plan.h"

/* What load_image() recognised (for messages and -v). */
const char *load_protocol_name(enum boot_protocol p);

/*
 * load_detect - the protocol an image asks for, by its contents: a multiboot
 * v1 header in the first 8 KiB (checked before the ELF64 path, which would
 * refuse an ELF32), a Linux bzImage or vmlinux, else kestrel's bare-metal
 * ELF64 ABI (whose loader explains what is wrong with anything else).
 */
enum boot_protocol load_detect(const uint8_t *image, size_t len);

/*
 * load_image - check and load in->image into guest RAM `mem` with the
 * loader load_detect() picks, writing its protocol's tables, and describe
 * the result in *plan. rsdp is where the platform's ACPI RSDP is (0: none;
 * only the protocols whose plan asks for ACPI use it). Pure: no KVM call.
 * Returns 0 or a negative errno (-ENOEXEC, -E2BIG, ...) with a one-line
 * reason in why.
 */
int load_image(const struct boot_input *in, const struct guest_mem *mem, gpa_t rsdp,
	       struct boot_plan *plan, char *why, size_t whylen);

/* load_wants_acpi - whether the protocol's platform has ACPI tables (so the
 * caller builds them before load_image, and passes their RSDP). */
bool load_wants_acpi(enum boot_protocol p);

#endif
