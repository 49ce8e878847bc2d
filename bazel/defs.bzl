"""diskwright_image: a disk image as a Bazel action.

An image is a pure function of its spec and its input files, so it is one action whose inputs are
all declared: the spec, the files that go into the image, the node binary, the diskwright package
(its bundled CLI, dist/ and production node_modules/) and action.mjs. Its outputs are the image and
diskwright's JSON report (offsets, GUIDs, UUIDs, sha256). With nothing undeclared it runs in the
local sandbox, on a remote executor, and is served from the disk or remote cache.

    load("@diskwright_rules//:defs.bzl", "diskwright_image")

    # rootfs/BUILD.bazel: filegroup(name = "rootfs", srcs = glob(["**"], exclude = ["BUILD.bazel"]))
    diskwright_image(
        name = "efi",
        spec = "efi.yaml",                        # layout: efi, sizes, ids, bootloader... (README "Spec")
        contents = {"//rootfs": "root"},          # files -> the partition they go to
        format = "qcow2",
    )
    # bazel build //:efi -> bazel-bin/efi.qcow2, bazel-bin/efi.report.json

`contents` maps a label to a partition: `root` or `boot` for a `layout:` preset, else a
partition's `name`. Each file of the label goes to the path it has below its package (a
filesystem tree is a package of its own), as one contents entry of its own: the sandbox presents
inputs as symlinks, and diskwright follows a source that is itself a symlink, so the image holds
the files' bytes (a directory source would hold the links). Empty directories and modes other than the
files' own are declared in the spec. Paths in the spec itself (a bootloader's files) are relative
to the spec's directory and must be listed in `data`.

The node binary comes from `node` (default `@diskwright_node//:node`, a `bin/node` file) and the
package from `package` (default `@diskwright_package//:package`, a filegroup of the package's
files): see docs/scale-out.md for the WORKSPACE lines. A node binary is dynamically linked against
the C library of the machine that runs the action, as any toolchain binary is.
"""

# The file name suffix of each output format (README "Output"; src/container/registry.ts).
_SUFFIX = {
    "raw": ".img",
    "qcow2": ".qcow2",
    "qcow2-compressed": ".qcow2",
    "vhd": ".vhd",
    "vpc": ".vhd",
    "vhd-fixed": ".vhd",
    "vdi": ".vdi",
    "vmdk": ".vmdk",
}

def _package_path(f):
    """The path of `f` below its package's directory."""
    prefix = f.owner.package + "/" if f.owner.package else ""
    if f.owner.workspace_name:
        prefix = "../" + f.owner.workspace_name + "/" + prefix
    path = f.short_path
    if not path.startswith(prefix):
        fail("%s: %s is not below its package %s" % (f.owner, path, prefix))
    return path[len(prefix):]


def _main_js(files):
    for f in files:
        if f.short_path.endswith("dist/cli/main.js"):
            return f
    fail("package: no dist/cli/main.js among its files (the built diskwright npm package)")

def _diskwright_image_impl(ctx):
    image = ctx.actions.declare_file(ctx.label.name + _SUFFIX[ctx.attr.format])
    report = ctx.actions.declare_file(ctx.label.name + ".report.json")
    package = ctx.files.package
    main = _main_js(package)

    entries = []
    inputs = [ctx.file.spec, ctx.file._action] + package + ctx.files.data
    for target, partition in ctx.attr.contents.items():
        for f in target.files.to_list():
            entries.append(struct(partition = partition, source = f.path, target = "/" + _package_path(f)))
            inputs.append(f)

    manifest = ctx.actions.declare_file(ctx.label.name + ".manifest.json")
    ctx.actions.write(manifest, struct(
        spec = ctx.file.spec.path,
        main = main.path,
        image = image.path,
        report = report.path,
        format = ctx.attr.format,
        entries = entries,
    ).to_json())

    ctx.actions.run(
        executable = ctx.executable.node,
        arguments = [ctx.file._action.path, manifest.path],
        inputs = depset(inputs + [manifest]),
        outputs = [image, report],
        mnemonic = "DiskwrightImage",
        progress_message = "diskwright: building %s" % image.short_path,
        # The only environment: the launcher's V8 code cache is an optimisation with no place in an action.
        env = {"DISKWRIGHT_CACHE_DIR": ""},
    )
    return [DefaultInfo(files = depset([image, report]))]

diskwright_image = rule(
    implementation = _diskwright_image_impl,
    doc = "A disk image built by diskwright from a spec and declared input files.",
    attrs = {
        "spec": attr.label(allow_single_file = [".yaml", ".yml", ".json"], mandatory = True, doc = "The image's spec."),
        "contents": attr.label_keyed_string_dict(allow_files = True, doc = "Files -> the partition they go to (root/boot of a layout, or a partition name)."),
        "data": attr.label_list(allow_files = True, doc = "Files the spec names itself (relative to the spec)."),
        "format": attr.string(default = "raw", values = _SUFFIX.keys(), doc = "Output container format."),
        "node": attr.label(default = "@diskwright_node//:node", allow_single_file = True, executable = True, cfg = "host", doc = "Node.js >= 20."),
        "package": attr.label(default = "@diskwright_package//:package", allow_files = True, doc = "The diskwright npm package's files."),
        "_action": attr.label(default = ":action.mjs", allow_single_file = True),
    },
)
