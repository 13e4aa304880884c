/* ctxguard inspect FILE…: how a binary or library reaches CUDA, and so what ctxguard can see of it.
 * Reads the ELF file itself; runs nothing. Needed libraries and dynamic symbols come from PT_DYNAMIC
 * (program headers), as the loader reads them: section headers can be stripped (sstrip, some
 * packers) and the object still loads. .symtab (a statically carried runtime) needs sections. */
#include <elf.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"

static const char *const hooks[] = {
#define CG_RT(name, params, args, kind) #name,
#define CG_DRV(name, base, since, kind, group, params, args) #name,
#include "../shim/core/hooks.def"
    NULL};

struct elf {
    const unsigned char *p;
    size_t n;
    const Elf64_Ehdr *eh;
    const Elf64_Shdr *sh;
    /* from PT_DYNAMIC, as the loader reads it (section headers may be stripped) */
    const Elf64_Dyn *dyn;
    size_t ndyn;
    const char *dstr;
    size_t dstrsz;
    const Elf64_Sym *dsym;
    size_t ndsym;
};

/* A symbol table: from a section (.dynsym, .symtab) or from the dynamic segment. */
struct symtab {
    const Elf64_Sym *sym;
    size_t n;
    const char *str;
    size_t strsz;
};

static const Elf64_Shdr *section(const struct elf *e, Elf64_Word type)
{
    for (int i = 0; i < e->eh->e_shnum; i++)
        if (e->sh[i].sh_type == type)
            return &e->sh[i];
    return NULL;
}

static int in_file(const struct elf *e, Elf64_Off off, Elf64_Xword size)
{
    return off <= e->n && size <= e->n - off;
}

static struct symtab from_section(const struct elf *e, const Elf64_Shdr *symtab)
{
    struct symtab t = {NULL, 0, NULL, 0};
    if (!symtab || symtab->sh_link >= e->eh->e_shnum)
        return t;
    const Elf64_Shdr *str = &e->sh[symtab->sh_link];
    if (!in_file(e, symtab->sh_offset, symtab->sh_size) || !in_file(e, str->sh_offset, str->sh_size))
        return t;
    t.sym = (const Elf64_Sym *)(e->p + symtab->sh_offset);
    t.n = symtab->sh_size / sizeof *t.sym;
    t.str = (const char *)e->p + str->sh_offset;
    t.strsz = str->sh_size;
    return t;
}

/* The file bytes behind a virtual address range, through the PT_LOAD segments; NULL if not there. */
static const void *at_vaddr(const struct elf *e, Elf64_Addr va, Elf64_Xword size)
{
    const Elf64_Phdr *ph = (const Elf64_Phdr *)(e->p + e->eh->e_phoff);
    for (int i = 0; i < e->eh->e_phnum; i++)
        if (ph[i].p_type == PT_LOAD && va >= ph[i].p_vaddr && va - ph[i].p_vaddr <= ph[i].p_filesz &&
            size <= ph[i].p_filesz - (va - ph[i].p_vaddr) && in_file(e, ph[i].p_offset + (va - ph[i].p_vaddr), size))
            return e->p + ph[i].p_offset + (va - ph[i].p_vaddr);
    return NULL;
}

/* How many dynamic symbols there are: the loader never needs the count, so it comes from the hash
 * tables (DT_HASH's nchain, or the end of DT_GNU_HASH's longest chain). */
static size_t dynsym_count(const struct elf *e, Elf64_Addr hash, Elf64_Addr gnu_hash)
{
    if (hash) {
        const Elf64_Word *h = at_vaddr(e, hash, 8);
        if (h)
            return h[1];
    }
    if (!gnu_hash)
        return 0;
    const Elf64_Word *g = at_vaddr(e, gnu_hash, 16);
    if (!g)
        return 0;
    Elf64_Word nbuckets = g[0], symoffset = g[1], bloom = g[2];
    const Elf64_Word *buckets = at_vaddr(e, gnu_hash + 16 + (Elf64_Addr)bloom * 8, (Elf64_Xword)nbuckets * 4);
    if (!buckets)
        return 0;
    Elf64_Word last = 0;
    for (Elf64_Word b = 0; b < nbuckets; b++)
        if (buckets[b] > last)
            last = buckets[b];
    if (last < symoffset)
        return symoffset;
    Elf64_Addr chains = gnu_hash + 16 + (Elf64_Addr)bloom * 8 + (Elf64_Addr)nbuckets * 4;
    for (;; last++) {
        const Elf64_Word *c = at_vaddr(e, chains + (Elf64_Addr)(last - symoffset) * 4, 4);
        if (!c || (*c & 1))
            return c ? (size_t)last + 1 : 0;
    }
}

/* PT_DYNAMIC and what it points at: needed libraries, soname, dynamic symbols. */
static void read_dynamic(struct elf *e)
{
    if (e->eh->e_phentsize != sizeof(Elf64_Phdr) ||
        !in_file(e, e->eh->e_phoff, (Elf64_Xword)e->eh->e_phnum * sizeof(Elf64_Phdr)))
        return;
    const Elf64_Phdr *ph = (const Elf64_Phdr *)(e->p + e->eh->e_phoff);
    for (int i = 0; i < e->eh->e_phnum; i++)
        if (ph[i].p_type == PT_DYNAMIC && in_file(e, ph[i].p_offset, ph[i].p_filesz)) {
            e->dyn = (const Elf64_Dyn *)(e->p + ph[i].p_offset);
            e->ndyn = ph[i].p_filesz / sizeof *e->dyn;
        }
    Elf64_Addr strtab = 0, symtab = 0, hash = 0, gnu_hash = 0;
    for (size_t i = 0; i < e->ndyn && e->dyn[i].d_tag != DT_NULL; i++) {
        switch (e->dyn[i].d_tag) {
        case DT_STRTAB: strtab = e->dyn[i].d_un.d_ptr; break;
        case DT_STRSZ: e->dstrsz = e->dyn[i].d_un.d_val; break;
        case DT_SYMTAB: symtab = e->dyn[i].d_un.d_ptr; break;
        case DT_HASH: hash = e->dyn[i].d_un.d_ptr; break;
        case DT_GNU_HASH: gnu_hash = e->dyn[i].d_un.d_ptr; break;
        }
    }
    e->dstr = strtab && e->dstrsz ? at_vaddr(e, strtab, e->dstrsz) : NULL;
    if (!e->dstr)
        e->dstrsz = 0;
    size_t n = symtab ? dynsym_count(e, hash, gnu_hash) : 0;
    if (n && at_vaddr(e, symtab, (Elf64_Xword)n * sizeof(Elf64_Sym))) {
        e->dsym = at_vaddr(e, symtab, (Elf64_Xword)n * sizeof(Elf64_Sym));
        e->ndsym = n;
    }
}

/* Finds whether `name` is in the symbol table: 0 absent, 1 undefined (imported), 2 defined and
 * global/default (exported), 3 defined but local or hidden. */
static int symbol(struct symtab t, const char *name)
{
    const Elf64_Sym *s = t.sym;
    int best = 0;
    for (size_t i = 1; s && i < t.n; i++) {
        if (s[i].st_name >= t.strsz || strnlen(t.str + s[i].st_name, t.strsz - s[i].st_name) == t.strsz - s[i].st_name ||
            strcmp(t.str + s[i].st_name, name) != 0)
            continue;
        if (s[i].st_shndx == SHN_UNDEF)
            best = best ? best : 1;
        else if (ELF64_ST_BIND(s[i].st_info) != STB_LOCAL && ELF64_ST_VISIBILITY(s[i].st_other) == STV_DEFAULT)
            best = 2;
        else if (best != 2)
            best = 3;
    }
    return best;
}

static int has_bytes(const struct elf *e, const char *needle)
{
    return memmem(e->p, e->n, needle, strlen(needle) + 1) != NULL;
}

static int inspect_one(const char *path)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || st.st_size < (off_t)sizeof(Elf64_Ehdr)) {
        fprintf(stderr, "ctxguard inspect: %s: cannot read (not a regular file, or too small)\n", path);
        if (fd >= 0)
            close(fd);
        return 1;
    }
    void *m = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
    close(fd);
    if (m == MAP_FAILED) {
        fprintf(stderr, "ctxguard inspect: %s: cannot map\n", path);
        return 1;
    }
    struct elf e = {.p = m, .n = (size_t)st.st_size, .eh = m};
    int rc = 0;
    if (memcmp(e.eh->e_ident, ELFMAG, SELFMAG) != 0 || e.eh->e_ident[EI_CLASS] != ELFCLASS64 ||
        !in_file(&e, e.eh->e_shoff, (Elf64_Xword)e.eh->e_shnum * sizeof(Elf64_Shdr))) {
        fprintf(stderr, "ctxguard inspect: %s: not a 64-bit ELF file ctxguard can read\n", path);
        rc = 1;
        goto out;
    }
    e.sh = (const Elf64_Shdr *)(e.p + e.eh->e_shoff);
    read_dynamic(&e);
    /* the dynamic symbols as the loader sees them; .dynsym's section where the segment gives no count */
    struct symtab dynsym = {e.dsym, e.ndsym, e.dstr, e.dstrsz};
    if (!dynsym.sym)
        dynsym = from_section(&e, section(&e, SHT_DYNSYM));
    struct symtab symtab = from_section(&e, section(&e, SHT_SYMTAB));
    printf("%s:\n", path);
    /* needed libraries, from PT_DYNAMIC (program headers): what the loader reads */
    int needs_cudart = 0, needs_cuda = 0, is_runtime = 0;
    if (e.dyn && e.dstr) {
        const Elf64_Dyn *d = e.dyn;
        for (size_t i = 0; i < e.ndyn && d[i].d_tag != DT_NULL; i++) {
            if ((d[i].d_tag != DT_NEEDED && d[i].d_tag != DT_SONAME) || d[i].d_un.d_val >= e.dstrsz ||
                strnlen(e.dstr + d[i].d_un.d_val, e.dstrsz - d[i].d_un.d_val) == e.dstrsz - d[i].d_un.d_val)
                continue;
            const char *lib = e.dstr + d[i].d_un.d_val;
            if (d[i].d_tag == DT_SONAME) {
                if (!strncmp(lib, "libcudart.so", 12)) {
                    is_runtime = 1;
                    printf("  is a CUDA runtime itself (soname %s): its callers' runtime calls reach ctxguard first\n", lib);
                }
                continue;
            }
            if (!strncmp(lib, "libcudart.so", 12)) {
                needs_cudart = 1;
                printf("  links the CUDA runtime dynamically: %s\n", lib);
            }
            if (!strncmp(lib, "libcuda.so", 10)) {
                needs_cuda = 1;
                printf("  links the CUDA driver directly: %s\n", lib);
            }
        }
    }
    /* a runtime carried inside: its entry points are defined here */
    int rt_dyn = symbol(dynsym, "cudaMalloc"), rt_all = symbol(symtab, "cudaMalloc");
    int reg = symbol(dynsym, "__cudaRegisterFatBinary") | symbol(symtab, "__cudaRegisterFatBinary");
    int static_rt = (!is_runtime && (rt_dyn >= 2 || rt_all >= 2)) || (!is_runtime && !needs_cudart && (reg >= 2 || has_bytes(&e, "cuGetProcAddress_v2")));
    if (static_rt)
        printf("  carries a CUDA runtime statically%s\n",
               rt_dyn == 2 ? "; its entry points are exported, so other modules' calls to them may bind here"
                           : "; its entry points are not exported");
    /* interposed entry points it references */
    char refs[4096] = "";
    for (int i = 0; hooks[i]; i++)
        if (symbol(dynsym, hooks[i]) == 1) {
            size_t u = strlen(refs);
            snprintf(refs + u, sizeof refs - u, "%s%s", u ? ", " : "", hooks[i]);
        }
    if (refs[0])
        printf("  imports guarded entry points: %s\n", refs);
    int dlopen_imp = symbol(dynsym, "dlopen") == 1, dlsym_imp = symbol(dynsym, "dlsym") == 1;
    int gpa = has_bytes(&e, "cuGetProcAddress_v2") || has_bytes(&e, "cuGetProcAddress");
    if (dlopen_imp)
        printf("  loads libraries at run time (imports dlopen); whether with RTLD_DEEPBIND cannot be read from the\n"
               "  file: ctxguard reports such a load when it happens, and cannot guard what it loads\n");
    if (gpa && dlsym_imp)
        printf("  names cuGetProcAddress and imports dlsym: it reaches the driver the way the runtime does\n");
    /* verdict */
    printf("  ctxguard sees: ");
    int any = 0;
    if (needs_cudart || (static_rt && rt_dyn == 2)) {
        printf("its runtime calls (exported runtime entry points)");
        any = 1;
    }
    if (static_rt || gpa) {
        printf("%sits runtime's driver calls (dlsym + cuGetProcAddress door)", any ? "; " : "");
        any = 1;
    }
    if (needs_cuda || (refs[0] && strstr(refs, "cu") && !strncmp(refs, "cu", 2))) {
        printf("%sits direct driver calls (exported driver entry points)", any ? "; " : "");
        any = 1;
    }
    if (!any)
        printf("nothing: it neither links nor carries CUDA%s", dlopen_imp ? " (but may load something that does)" : "");
    printf("\n");
out:
    munmap(m, (size_t)st.st_size);
    return rc;
}

static const char usage[] =
    "usage: ctxguard inspect BINARY|LIBRARY...\n"
    "Says how each file reaches CUDA (runtime linked or carried, driver, dlopen) and so what ctxguard\n"
    "can see of it. Reads the ELF file (program headers, as the loader does, so stripped section headers\n"
    "do not matter); runs nothing.\n"
    "Exit status: 0 all read, 1 a file could not be read or is not a 64-bit ELF file, 2 usage error.\n";

int cmd_inspect(int argc, char **argv)
{
    int rc = 0, nfiles = 0;
    for (int i = 0; i < argc;) {
        const char *v;
        int id = cli_next("inspect", NULL, argc, argv, &i, &v);
        if (id == CLI_HELP) {
            fputs(usage, stdout);
            return CLI_OK;
        }
        if (id == CLI_BAD)
            return CLI_USAGE;
        if (id == CLI_ARG) {
            rc |= inspect_one(argv[i++]);
            nfiles++;
        }
    }
    if (nfiles == 0)
        return cli_usage_error("inspect", usage, "no file given");
    return rc;
}
