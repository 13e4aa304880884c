/* ctxguard inspect FILE…: how a binary or library reaches CUDA, and so what ctxguard can see of it.
 * Reads the ELF file itself (section headers, .dynamic, .dynsym, .symtab, string data); runs nothing. */
#include <elf.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

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

/* Finds whether `name` is in the symbol table `symtab`: 0 absent, 1 undefined (imported),
 * 2 defined and global/default (exported), 3 defined but local or hidden. */
static int symbol(const struct elf *e, const Elf64_Shdr *symtab, const char *name)
{
    if (!symtab || symtab->sh_link >= e->eh->e_shnum)
        return 0;
    const Elf64_Shdr *str = &e->sh[symtab->sh_link];
    if (!in_file(e, symtab->sh_offset, symtab->sh_size) || !in_file(e, str->sh_offset, str->sh_size))
        return 0;
    const Elf64_Sym *s = (const Elf64_Sym *)(e->p + symtab->sh_offset);
    size_t n = symtab->sh_size / sizeof *s;
    const char *strs = (const char *)e->p + str->sh_offset;
    int best = 0;
    for (size_t i = 1; i < n; i++) {
        if (s[i].st_name >= str->sh_size || strcmp(strs + s[i].st_name, name) != 0)
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
        printf("%s: cannot read (not a regular file, or too small)\n", path);
        if (fd >= 0)
            close(fd);
        return 1;
    }
    void *m = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
    close(fd);
    if (m == MAP_FAILED) {
        printf("%s: cannot map\n", path);
        return 1;
    }
    struct elf e = {m, (size_t)st.st_size, m, NULL};
    int rc = 0;
    if (memcmp(e.eh->e_ident, ELFMAG, SELFMAG) != 0 || e.eh->e_ident[EI_CLASS] != ELFCLASS64 ||
        !in_file(&e, e.eh->e_shoff, (Elf64_Xword)e.eh->e_shnum * sizeof(Elf64_Shdr))) {
        printf("%s: not a 64-bit ELF file ctxguard can read\n", path);
        rc = 1;
        goto out;
    }
    e.sh = (const Elf64_Shdr *)(e.p + e.eh->e_shoff);
    const Elf64_Shdr *dynsym = section(&e, SHT_DYNSYM), *symtab = section(&e, SHT_SYMTAB), *dyn = section(&e, SHT_DYNAMIC);
    printf("%s:\n", path);
    /* needed libraries */
    int needs_cudart = 0, needs_cuda = 0, is_runtime = 0;
    if (dyn && dyn->sh_link < e.eh->e_shnum && in_file(&e, dyn->sh_offset, dyn->sh_size)) {
        const Elf64_Shdr *str = &e.sh[dyn->sh_link];
        const Elf64_Dyn *d = (const Elf64_Dyn *)(e.p + dyn->sh_offset);
        for (size_t i = 0; i < dyn->sh_size / sizeof *d && d[i].d_tag != DT_NULL; i++) {
            if ((d[i].d_tag != DT_NEEDED && d[i].d_tag != DT_SONAME) || d[i].d_un.d_val >= str->sh_size ||
                !in_file(&e, str->sh_offset, str->sh_size))
                continue;
            const char *lib = (const char *)e.p + str->sh_offset + d[i].d_un.d_val;
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
    int rt_dyn = symbol(&e, dynsym, "cudaMalloc"), rt_all = symbol(&e, symtab, "cudaMalloc");
    int reg = symbol(&e, dynsym, "__cudaRegisterFatBinary") | symbol(&e, symtab, "__cudaRegisterFatBinary");
    int static_rt = (!is_runtime && (rt_dyn >= 2 || rt_all >= 2)) || (!is_runtime && !needs_cudart && (reg >= 2 || has_bytes(&e, "cuGetProcAddress_v2")));
    if (static_rt)
        printf("  carries a CUDA runtime statically%s\n",
               rt_dyn == 2 ? "; its entry points are exported, so other modules' calls to them may bind here"
                           : "; its entry points are not exported");
    /* interposed entry points it references */
    char refs[4096] = "";
    for (int i = 0; hooks[i]; i++)
        if (symbol(&e, dynsym, hooks[i]) == 1) {
            size_t u = strlen(refs);
            snprintf(refs + u, sizeof refs - u, "%s%s", u ? ", " : "", hooks[i]);
        }
    if (refs[0])
        printf("  imports guarded entry points: %s\n", refs);
    int dlopen_imp = symbol(&e, dynsym, "dlopen") == 1, dlsym_imp = symbol(&e, dynsym, "dlsym") == 1;
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

int cmd_inspect(int argc, char **argv)
{
    if (argc == 0) {
        fprintf(stderr, "usage: ctxguard inspect BINARY|LIBRARY...\n");
        return 2;
    }
    int rc = 0;
    for (int i = 0; i < argc; i++)
        rc |= inspect_one(argv[i]);
    return rc;
}
