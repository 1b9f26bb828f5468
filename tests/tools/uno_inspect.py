"""Open a workbook in LibreOffice (headless, through UNO) and print what a user would find in it as
JSON: sheet names, VBA modules, and the buttons of each sheet with the macros they run.

    /usr/bin/python3 tests/tools/uno_inspect.py WORKBOOK.xlsm
"""

import json
import os
import subprocess
import sys
import tempfile
import time

import uno
from com.sun.star.beans import PropertyValue


def prop(name, value):
    p = PropertyValue()
    p.Name, p.Value = name, value
    return p


def main(path):
    with tempfile.TemporaryDirectory() as tmp:
        port = 2600 + os.getpid() % 300
        office = subprocess.Popen(["soffice", f"-env:UserInstallation=file://{tmp}", "--headless", "--norestore",
                                   f"--accept=socket,host=127.0.0.1,port={port};urp;"],
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        local = uno.getComponentContext()
        resolver = local.ServiceManager.createInstanceWithContext("com.sun.star.bridge.UnoUrlResolver", local)
        for _ in range(120):
            try:
                ctx = resolver.resolve(f"uno:socket,host=127.0.0.1,port={port};urp;StarOffice.ComponentContext")
                break
            except Exception:
                time.sleep(0.5)
        desktop = ctx.ServiceManager.createInstanceWithContext("com.sun.star.frame.Desktop", ctx)
        try:
            doc = desktop.loadComponentFromURL(uno.systemPathToFileUrl(os.path.abspath(path)), "_blank", 0,
                                               (prop("Hidden", True),))
            report = {"sheets": list(doc.Sheets.ElementNames), "modules": [], "buttons": {}}
            if doc.BasicLibraries.hasByName("VBAProject"):
                report["modules"] = list(doc.BasicLibraries.getByName("VBAProject").ElementNames)
            for name in doc.Sheets.ElementNames:
                forms = doc.Sheets.getByName(name).DrawPage.Forms
                buttons = []
                for f in range(forms.Count):
                    form = forms.getByIndex(f)
                    for c in range(form.Count):
                        control = form.getByIndex(c)
                        events = [e.ScriptCode for e in form.getScriptEvents(c)]
                        buttons.append({"label": getattr(control, "Label", ""), "scripts": events})
                if buttons:
                    report["buttons"][name] = buttons
            doc.close(True)
        finally:
            try:
                desktop.terminate()
            except Exception:
                pass
            office.wait(timeout=60)
    print(json.dumps(report, ensure_ascii=False))


if __name__ == "__main__":
    main(sys.argv[1])
