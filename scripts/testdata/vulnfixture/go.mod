module example.com/vulnfixture

go 1.27.3

require golang.org/x/text v0.3.2
