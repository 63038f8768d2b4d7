"""Workbooks: layouts from templates/, written with XlsxWriter.

XlsxWriter writes a formula together with its computed value, so totals are live formulas
in Excel and LibreOffice and still read right in readers that do not recalculate (pandas,
previews, openpyxl with data_only=True). openpyxl alone writes no cached value.
"""
