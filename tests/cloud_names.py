"""Files outside a cloud's folders whose code names the cloud (comments and #[cfg(test)] modules
left out): what docs/adding-a-cloud.md lists. Usage: python3 tests/cloud_names.py [ROOT] [-v]"""
import os, re, sys
args = [a for a in sys.argv[1:] if a != "-v"]
root = args[0] if args else os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
clouds = ["tencent", "alibaba", "volcengine", "huawei"]
dirs = ["shared/src", "shared/cli/src", "functions/common/src", "functions/check-status/src",
        "functions/start-export/src", "functions/start-sync/src", "tests/emulator/src"]
out = {}
for cloud in clouds:
    files_all, files_code = [], []
    for d in dirs:
        for base, _, names in os.walk(os.path.join(root, d)):
            for n in names:
                if not n.endswith(".rs"):
                    continue
                path = os.path.join(base, n)
                rel = os.path.relpath(path, root)
                if cloud in rel.lower():
                    continue
                text = open(path, encoding="utf-8").read()
                if cloud in text.lower():
                    files_all.append(rel)
                code = text.split("#[cfg(test)]")[0]
                code = "\n".join(line.split("//")[0] for line in code.splitlines())
                if re.search(cloud, code, re.I):
                    files_code.append(rel)
    out[cloud] = (len(files_all), len(files_code), files_code)
for cloud, (a, c, files) in out.items():
    print(f"{cloud}: {a} files name it, {c} in code (not comments or tests)")
if "-v" in sys.argv:
    for cloud, (_, _, files) in out.items():
        print(cloud, sorted(files))
