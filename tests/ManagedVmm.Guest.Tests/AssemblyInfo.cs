// Each case boots its own machine (own RAM, devices, console): the cases are independent and run side by side.
[assembly: Parallelizable(ParallelScope.Children)]
