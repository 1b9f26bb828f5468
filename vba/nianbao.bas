Attribute VB_Name = "nianbao"
' The two buttons of the nianbao template. Python does the work: the checker reads the open
' workbook (unsaved edits included) through xlwings and writes the findings back into it.
' Nothing here depends on the workbook's file name.
Option Explicit

Sub NianbaoCheck()
    RunPython "import nianbao.excel; nianbao.excel.check()"
End Sub

Sub NianbaoClear()
    RunPython "import nianbao.excel; nianbao.excel.clear()"
End Sub
