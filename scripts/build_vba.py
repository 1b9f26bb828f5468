"""Build vba/vbaProject.bin from sources, on Linux, with LibreOffice.

    /usr/bin/python3 scripts/build_vba.py \
        --xlwings "$(.venv/bin/python -c 'import xlwings, pathlib; print(pathlib.Path(xlwings.__file__).parent / "quickstart_standalone.xlsm")')" \
        --sheets 9 -o vba/vbaProject.bin

Runs with the system Python that has LibreOffice's UNO bridge (Debian: python3-uno). Starting from
the pinned xlwings package's standalone quickstart workbook (its VBA project holds the xlwings
standalone module of exactly that version), it removes the sample module and the Mac-only
Dictionary class, adds vba/nianbao.bas, gives the project one document module per template sheet
(Sheet1..SheetN, as the template's sheets are named in VBA), saves with LibreOffice's VBA export
and extracts the project. LibreOffice writes the source only (no compiled p-code): Excel compiles
it on first use. The project GUID is new on each build, so the file is checked by its decoded
sources (tests/test_excel.py), not byte by byte.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path

import uno  # noqa: E402 - from python3-uno
from com.sun.star.beans import PropertyValue  # noqa: E402

HERE = Path(__file__).resolve().parent


def prop(name: str, value) -> PropertyValue:
    p = PropertyValue()
    p.Name, p.Value = name, value
    return p


def connect(port: int, profile: str):
    office = subprocess.Popen(
        ["soffice", f"-env:UserInstallation=file://{profile}", "--headless", "--norestore", "--invisible",
         f"--accept=socket,host=127.0.0.1,port={port};urp;"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    local = uno.getComponentContext()
    resolver = local.ServiceManager.createInstanceWithContext("com.sun.star.bridge.UnoUrlResolver", local)
    for _ in range(120):
        try:
            ctx = resolver.resolve(f"uno:socket,host=127.0.0.1,port={port};urp;StarOffice.ComponentContext")
            return office, ctx.ServiceManager.createInstanceWithContext("com.sun.star.frame.Desktop", ctx)
        except Exception:  # not listening yet
            time.sleep(0.5)
    office.kill()
    raise SystemExit("LibreOffice did not start")


def build(xlwings_xlsm: Path, module: Path, sheets: int, out: Path) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        office, desktop = connect(2100 + os.getpid() % 500, f"{tmp}/profile")
        try:
            doc = desktop.loadComponentFromURL(uno.systemPathToFileUrl(str(xlwings_xlsm)), "_blank", 0, (prop("Hidden", True),))
            project = doc.BasicLibraries.getByName("VBAProject")
            for gone in ("Module1", "Dictionary"):
                project.removeByName(gone)
                if project.hasModuleInfo(gone):
                    project.removeModuleInfo(gone)
            info = uno.createUnoStruct("com.sun.star.script.ModuleInfo")
            info.ModuleType = uno.getConstantByName("com.sun.star.script.ModuleType.NORMAL")
            name = module.stem
            project.insertModuleInfo(name, info)
            body = "\n".join(line for line in module.read_text(encoding="utf-8").splitlines() if not line.startswith("Attribute "))
            project.insertByName(name, "Rem Attribute VBA_ModuleType=VBAModule\nOption VBASupport 1\n" + body + "\n")
            # LibreOffice adds a document module (Sheet3, Sheet4, ...) for each sheet inserted.
            while doc.Sheets.Count < sheets:
                doc.Sheets.insertNewByName(f"S{doc.Sheets.Count + 1}", doc.Sheets.Count)
            saved = Path(tmp) / "project.xlsm"
            doc.storeToURL(uno.systemPathToFileUrl(str(saved)), (prop("FilterName", "Calc MS Excel 2007 VBA XML"),))
            doc.close(True)
        finally:
            try:
                desktop.terminate()
            except Exception:  # the bridge goes away as the office quits
                pass
            office.wait(timeout=60)
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_bytes(zipfile.ZipFile(saved).read("xl/vbaProject.bin"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--xlwings", type=Path, required=True, help="xlwings' quickstart_standalone.xlsm (pinned version)")
    parser.add_argument("--module", type=Path, default=HERE.parent / "vba" / "nianbao.bas")
    parser.add_argument("--sheets", type=int, required=True, help="how many sheets the template has")
    parser.add_argument("-o", "--out", type=Path, default=HERE.parent / "vba" / "vbaProject.bin")
    args = parser.parse_args()
    build(args.xlwings.resolve(), args.module.resolve(), args.sheets, args.out.resolve())
    print(f"wrote {args.out}", file=sys.stderr)


if __name__ == "__main__":
    main()
